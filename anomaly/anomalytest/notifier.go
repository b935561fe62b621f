package anomalytest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly"
)

// NotifierHarness makes a fresh notifier per subtest of RunNotifier.
type NotifierHarness struct {
	New      func(t *testing.T) NotifierEnv
	Features NotifierFeatures
}

// NotifierFeatures reports optional behaviour.
type NotifierFeatures struct {
	// CanFail: the receiving end can refuse a delivery (NotifierEnv.Fail), and Notify must
	// then return an error. A log notifier has no receiving end that can refuse.
	CanFail bool
}

// NotifierEnv is one notifier and its receiving end.
type NotifierEnv struct {
	Notifier anomaly.Notifier
	// Deliveries returns the deliveries the receiving end accepted so far, in arrival order.
	// A delivery that fails the adapter's authenticity check (the webhook signature) must not
	// be accepted.
	Deliveries func() []Delivery
	// Fail makes the receiving end refuse every later delivery (required with
	// Features.CanFail).
	Fail func()
}

// Delivery is one notification as the receiving end saw it, every field as text (amounts
// as decimal strings, the day as YYYY-MM-DD).
type Delivery struct {
	AnomalyID, TenantID, Day, Service, Kind, Severity string
	Expected, Actual, Impact                          string
	Description                                       string
}

// Expect returns the Delivery a faithful notifier produces for a.
func Expect(a anomaly.Anomaly) Delivery {
	return Delivery{
		AnomalyID: a.ID.String(), TenantID: a.TenantID.String(), Day: a.Day.Format(time.DateOnly),
		Service: a.Service, Kind: string(a.Kind), Severity: string(a.Severity),
		Expected: a.Expected.String(), Actual: a.Actual.String(), Impact: a.Impact.String(),
		Description: a.Description,
	}
}

// RunNotifier runs the conformance suite of anomaly.Notifier.
func RunNotifier(t *testing.T, h NotifierHarness) {
	ctx := context.Background()

	t.Run("DeliversEveryField", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		a := Sample(eusaas.NewTenantID(), "CPU", 3)
		require.NoError(t, e.Notifier.Notify(ctx, a))
		got := e.Deliveries()
		require.Len(t, got, 1)
		want := Expect(a)
		// Spelled out, so a notifier that drops a field or rounds an amount fails here
		// whatever the harness does.
		require.Equal(t, "40.015", want.Expected)
		require.Equal(t, "125.00000001", want.Actual)
		require.Equal(t, "84.98500001", want.Impact)
		require.Equal(t, "2026-03-04", want.Day)
		require.Equal(t, "HIGH", want.Severity)
		require.Equal(t, want, got[0])

		b := Sample(a.TenantID, anomaly.ServiceBudget, 0)
		b.Severity, b.Kind = anomaly.SeverityLow, anomaly.KindDrop
		b.Expected, b.Actual = b.Actual, b.Expected
		b.DeviationPct = nil
		require.NoError(t, e.Notifier.Notify(ctx, b))
		got = e.Deliveries()
		require.Len(t, got, 2)
		require.Equal(t, Expect(b), got[1])
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		// Each delivery carries its own anomaly's tenant.
		t.Parallel()
		e := h.New(t)
		a := Sample(eusaas.NewTenantID(), "CPU", 1)
		b := Sample(eusaas.NewTenantID(), "CPU", 1)
		require.NoError(t, e.Notifier.Notify(ctx, a))
		require.NoError(t, e.Notifier.Notify(ctx, b))
		got := e.Deliveries()
		require.Equal(t, []Delivery{Expect(a), Expect(b)}, got)
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		// A caller that gave up gets an error and nobody is notified.
		t.Parallel()
		e := h.New(t)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		err := e.Notifier.Notify(canceled, Sample(eusaas.NewTenantID(), "CPU", 1))
		require.Error(t, err)
		require.True(t, errors.Is(err, context.Canceled) || eusaas.KindOf(err) == eusaas.Canceled, "%v", err)
		require.Empty(t, e.Deliveries())
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		e := h.New(t)
		const n = 12
		want := map[string]Delivery{}
		as := make([]anomaly.Anomaly, n)
		for i := range as {
			as[i] = Sample(eusaas.NewTenantID(), "CPU", i)
			want[as[i].ID.String()] = Expect(as[i])
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for _, a := range as {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- e.Notifier.Notify(ctx, a)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		got := map[string]Delivery{}
		for _, d := range e.Deliveries() {
			_, dup := got[d.AnomalyID]
			require.False(t, dup, "anomaly %s delivered twice", d.AnomalyID)
			got[d.AnomalyID] = d
		}
		require.Equal(t, want, got)
	})

	t.Run("FailureIsReported", func(t *testing.T) {
		t.Parallel()
		if !h.Features.CanFail {
			t.Skip("the receiving end cannot refuse")
		}
		e := h.New(t)
		e.Fail()
		err := e.Notifier.Notify(ctx, Sample(eusaas.NewTenantID(), "CPU", 1))
		require.Error(t, err, "a refused delivery is reported")
		require.Empty(t, e.Deliveries())
	})
}
