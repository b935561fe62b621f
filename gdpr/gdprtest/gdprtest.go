// Package gdprtest is the conformance suite of the gdpr ports (RequestStore, PolicyStore,
// HoldStore, KeyStore, ArchiveStore, DSRStore, BreachStore, LeaseStore). Adapter authors run it from a test:
//
//	func TestConformance(t *testing.T) { gdprtest.Run(t, gdprtest.Harness{New: ...}) }
//
// Run covers every port; an adapter of fewer ports runs only their areas (RunRequests,
// RunPolicies, RunHolds, RunKeys, RunArchives, RunDSRs,
// RunBreaches, RunLeases), leaving the other Stores fields nil.
package gdprtest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
)

// Stores is one fresh set of adapters.
type Stores struct {
	Requests gdpr.RequestStore
	Policies gdpr.PolicyStore
	Holds    gdpr.HoldStore
	Keys     gdpr.KeyStore
	Archives gdpr.ArchiveStore
	// DSRs is the data-subject request store; RunDSRs skips when nil.
	DSRs gdpr.DSRStore
	// Breaches is the breach register; RunBreaches skips when nil.
	Breaches gdpr.BreachStore
	// Leases keeps run leases; RunLeases skips when nil.
	Leases gdpr.LeaseStore
	// Tx is the TxRunner the stores and Keys take part in (nil without transactions).
	Tx eusaas.TxRunner
}

// Features are optional behaviours.
type Features struct {
	// Transactions: writes through Tx roll back with it.
	Transactions bool
}

// Harness makes fresh stores for each subtest.
type Harness struct {
	New      func(t *testing.T) Stores
	Features Features
}

// base time, at microsecond precision (what Postgres keeps).
var t0 = time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)

func newReq(tenant eusaas.TenantID, kind gdpr.Kind, at time.Time) gdpr.Request {
	return gdpr.Request{ID: uuid.NewString(), Version: 1, TenantID: tenant, Kind: kind, Status: gdpr.StatusPending,
		RequestedAt: at, DueAt: gdpr.DueDate(at), RequestedBy: eusaas.Actor{Kind: eusaas.ActorUser, ID: "u1", TenantID: tenant}}
}

func kindOf(t *testing.T, err error, want eusaas.Kind) {
	t.Helper()
	if err == nil || eusaas.KindOf(err) != want {
		t.Fatalf("error %v: want kind %v", err, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func diff(t *testing.T, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("mismatch (-want +got):\n%s", d)
	}
}

// Run runs every area of the suite, each a subtest named for its port, and the
// transaction test that spans them.
func Run(t *testing.T, h Harness) {
	t.Run("Requests", func(t *testing.T) { RunRequests(t, h) })
	t.Run("Policies", func(t *testing.T) { RunPolicies(t, h) })
	t.Run("Holds", func(t *testing.T) { RunHolds(t, h) })
	t.Run("Keys", func(t *testing.T) { RunKeys(t, h) })
	t.Run("Archives", func(t *testing.T) { RunArchives(t, h) })
	t.Run("DSRs", func(t *testing.T) { RunDSRs(t, h) })
	t.Run("Breaches", func(t *testing.T) { RunBreaches(t, h) })
	t.Run("Leases", func(t *testing.T) { RunLeases(t, h) })
	t.Run("Transactions", func(t *testing.T) { RunTransactions(t, h) })
}

// RunTransactions checks that writes to Requests, Policies and Keys through Tx roll back
// together (Features.Transactions; skipped otherwise).
func RunTransactions(t *testing.T, h Harness) {
	ctx := context.Background()
	a := eusaas.NewTenantID()

	t.Run("TxRollback", func(t *testing.T) {
		if !h.Features.Transactions {
			t.Skip("adapter without transactions")
		}
		s := h.New(t)
		r := newReq(a, gdpr.KindExport, t0)
		boom := errors.New("boom")
		err := s.Tx.InTx(ctx, func(ctx context.Context) error {
			must(t, s.Requests.CreateRequest(ctx, r))
			must(t, s.Policies.PutPolicy(ctx, gdpr.DefaultPolicy(a)))
			must(t, s.Keys.CreateKey(ctx, gdpr.Key{TenantID: a, Material: make([]byte, 32), CreatedAt: t0, DestroyAfter: t0}))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v", err)
		}
		_, err = s.Requests.Request(ctx, a, r.ID)
		kindOf(t, err, eusaas.NotFound)
		_, err = s.Policies.Policy(ctx, a)
		kindOf(t, err, eusaas.NotFound)
		_, err = s.Keys.Key(ctx, a)
		kindOf(t, err, eusaas.NotFound)
	})
}
