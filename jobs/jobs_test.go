package jobs_test

import (
	"context"
	"errors"
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

func TestRegistryObserve(t *testing.T) {
	r := jobs.NewRegistry()
	fail := errors.New("boom")
	r.Handle("ok", func(context.Context, jobs.Job) error { return nil })
	r.Handle("bad", func(context.Context, jobs.Job) error { return fail })
	type run struct {
		kind    string
		attempt int
		err     error
	}
	var runs []run
	r.Observe(func(kind string, attempt int, took time.Duration, err error) {
		if took < 0 {
			t.Errorf("negative duration %v", took)
		}
		runs = append(runs, run{kind, attempt, err})
	})
	for _, k := range []string{"ok", "bad"} {
		h, ok := r.Handler(k)
		if !ok {
			t.Fatalf("no handler for %s", k)
		}
		err := h(context.Background(), jobs.Job{Kind: k, Attempt: 2})
		if (k == "bad") != errors.Is(err, fail) {
			t.Errorf("%s: the handler's error is passed through, got %v", k, err)
		}
	}
	if len(runs) != 2 || runs[0] != (run{"ok", 2, nil}) || runs[1].kind != "bad" || !errors.Is(runs[1].err, fail) {
		t.Errorf("observed %+v", runs)
	}
	if _, ok := r.Handler("missing"); ok {
		t.Error("an unknown kind has no handler, observed or not")
	}
}
