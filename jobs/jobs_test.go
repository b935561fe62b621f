package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/eusaas/eusaas/jobs"
)

func TestSchedules(t *testing.T) {
	at := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	if got, want := (jobs.Daily{Hour: 2}).Next(at), time.Date(2026, 2, 1, 2, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("daily: got %v want %v", got, want)
	}
	if got, want := (jobs.Daily{Hour: 12}).Next(at), time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("daily same day: got %v want %v", got, want)
	}
	if got, want := (jobs.Monthly{Day: 1, Hour: 3}).Next(at), time.Date(2026, 2, 1, 3, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("monthly: got %v want %v", got, want)
	}
	if got, want := (jobs.Monthly{Day: 1, Hour: 3}).Next(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)), time.Date(2027, 1, 1, 3, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("monthly year end: got %v want %v", got, want)
	}
	if got := jobs.Backoff(2); got != 16*time.Second {
		t.Errorf("backoff(2) = %v", got)
	}
}

func TestRegistryRejectsDuplicates(t *testing.T) {
	r := jobs.NewRegistry()
	h := func(context.Context, jobs.Job) error { return nil }
	r.Handle("a", h)
	mustPanic(t, func() { r.Handle("a", h) })
	mustPanic(t, func() { r.Every(jobs.Periodic{Name: "p", Kind: "missing", Schedule: jobs.Interval(time.Hour)}) })
	r.Every(jobs.Periodic{Name: "p", Kind: "a", Schedule: jobs.Interval(time.Hour)})
	mustPanic(t, func() { r.Every(jobs.Periodic{Name: "p", Kind: "a", Schedule: jobs.Interval(time.Hour)}) })
	if len(r.Periodics()) != 1 || r.Kinds()[0] != "a" {
		t.Fatalf("registry: %v %v", r.Kinds(), r.Periodics())
	}
}

func mustPanic(t *testing.T, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatal("expected a panic")
		}
	}()
	f()
}
