package memgdpr_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly/memanomaly"
	"github.com/eusaas/eusaas/auth/memauth"
	"github.com/eusaas/eusaas/billing/membilling"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/gdprfixture"
	"github.com/eusaas/eusaas/memtx"
)

// The memory stores of auth, billing and anomaly as eusaas.DataSources behind
// memgdpr.TenantData (their own packages import no gdpr; the tests that need gdpr's
// vocabulary live here). The fixture writing to them is internal/gdprfixture, shared with
// adapters/postgres's parity test (memory export == Postgres export).

// stores are the memory stores under test.
type stores struct {
	Auth      *memauth.Store
	Usage     *membilling.UsageStore
	Invoices  *membilling.InvoiceStore
	Prices    *membilling.PriceStore
	Anomalies *memanomaly.Store
}

func newStores() stores {
	return stores{Auth: memauth.NewStore(), Usage: membilling.NewUsageStore(),
		Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore(), Anomalies: memanomaly.NewStore()}
}

func (s stores) ports() gdprfixture.Ports {
	return gdprfixture.Ports{Users: s.Auth, Sessions: s.Auth, Invitations: s.Auth, APIKeys: s.Auth, SSO: s.Auth, Usage: s.Usage, Invoices: s.Invoices,
		Prices: s.Prices, Anomalies: s.Anomalies}
}

// retain runs a memory store's own retention as the server's wiring adapts it to
// gdpr.Retainer (cmd/eusaas): auth deletes rows expired before now-grace, anomaly applies
// default_retention_days; the billing stores have none.
func retain(ctx context.Context, src eusaas.DataSource, tenant eusaas.TenantID, p gdpr.Policy, now time.Time, grace time.Duration) (map[string]int, error) {
	switch s := src.(type) {
	case *memauth.Store:
		return s.DeleteExpired(ctx, tenant, now.Add(-grace))
	case *memanomaly.Store:
		return s.EnforceDataRetention(ctx, tenant, p.DefaultRetentionDays, now, grace)
	}
	return map[string]int{}, nil
}

// sourceCase describes one memory store as an eusaas.DataSource for runSource.
type sourceCase struct {
	pick func(stores) eusaas.DataSource
	// subjects maps each table to its subject column ("" for none).
	subjects map[string]string
	// counts are the rows gdprfixture.Fill leaves in each table.
	counts map[string]int
}

// runSource checks the eusaas.DataSource contract common to every memory store: its tables,
// tenant isolation, idempotent tenant deletion, rollback inside a memory transaction,
// context cancellation, concurrent use (run with -race), and that retention deletes only
// rows past their expires_at (sessions, invitations), as the Postgres adapter does.
func runSource(t *testing.T, c sourceCase) {
	ctx := context.Background()
	setup := func(t *testing.T) (stores, eusaas.DataSource, *memgdpr.TenantData, eusaas.TenantID, eusaas.TenantID, gdprfixture.Seed) {
		s := newStores()
		a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
		gdprfixture.Fill(t, ctx, s.ports(), a)
		seedB := gdprfixture.Fill(t, ctx, s.ports(), b)
		src := c.pick(s)
		return s, src, memgdpr.NewTenantData(src), a, b, seedB
	}
	zero := map[string]int{}
	for k := range c.counts {
		zero[k] = 0
	}

	t.Run("Tables", func(t *testing.T) {
		_, src, data, a, _, _ := setup(t)
		got := map[string]string{}
		for _, tb := range src.DataTables(a) {
			got[tb.Name] = tb.SubjectColumn
			if tb.SubjectColumn != "" && !slices.Contains(tb.Columns, tb.SubjectColumn) {
				t.Errorf("%s: subject column %q not among its columns", tb.Name, tb.SubjectColumn)
			}
		}
		if diff := cmp.Diff(c.subjects, got); diff != "" {
			t.Fatalf("tables (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(c.counts, gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, a))); diff != "" {
			t.Fatalf("rows per table (-want +got):\n%s", diff)
		}
		if n := len(src.DataTables(eusaas.NilTenant)); n != 0 {
			t.Fatalf("nil tenant has %d tables", n)
		}
		// A tenant without data still has every table, empty, like a fresh tenant schema.
		fresh := eusaas.NewTenantID()
		if diff := cmp.Diff(zero, gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, fresh))); diff != "" {
			t.Fatalf("fresh tenant (-want +got):\n%s", diff)
		}
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		_, src, data, a, b, seedB := setup(t)
		dumpB := gdprfixture.Dump(t, ctx, data, b)
		for name, rows := range gdprfixture.Dump(t, ctx, data, a) {
			for _, r := range rows {
				for _, other := range []string{seedB.U1.String(), seedB.U2.String(), seedB.Email1, seedB.Pending, seedB.Invoice.String(), seedB.Anomaly.String()} {
					if strings.Contains(r, other) {
						t.Fatalf("tenant A's %s shows tenant B's %s: %s", name, other, r)
					}
				}
			}
		}
		if _, err := src.DeleteTenantData(ctx, a); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(dumpB, gdprfixture.Dump(t, ctx, data, b)); diff != "" {
			t.Fatalf("deleting tenant A changed tenant B (-before +after):\n%s", diff)
		}
	})

	t.Run("DeleteTenantIdempotent", func(t *testing.T) {
		_, src, data, a, _, _ := setup(t)
		got, err := src.DeleteTenantData(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.counts, got); diff != "" {
			t.Fatalf("first deletion counts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(zero, gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, a))); diff != "" {
			t.Fatalf("rows left (-want +got):\n%s", diff)
		}
		got, err = src.DeleteTenantData(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(zero, got); diff != "" {
			t.Fatalf("second deletion counts (-want +got):\n%s", diff)
		}
	})

	t.Run("TxRollback", func(t *testing.T) {
		_, src, data, a, _, _ := setup(t)
		before := gdprfixture.Dump(t, ctx, data, a)
		tx := memtx.NewTxRunner()
		boom := eusaas.E(eusaas.Internal, "boom")
		err := tx.InTx(ctx, func(ctx context.Context) error {
			if _, err := src.DeleteTenantData(ctx, a); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("InTx = %v", err)
		}
		if diff := cmp.Diff(before, gdprfixture.Dump(t, ctx, data, a)); diff != "" {
			t.Fatalf("rollback did not restore the tenant (-before +after):\n%s", diff)
		}
		if err := tx.InTx(ctx, func(ctx context.Context) error { _, err := src.DeleteTenantData(ctx, a); return err }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(zero, gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, a))); diff != "" {
			t.Fatalf("committed deletion left rows (-want +got):\n%s", diff)
		}
	})

	t.Run("ContextCanceled", func(t *testing.T) {
		_, src, data, a, _, _ := setup(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		for _, tb := range src.DataTables(a) {
			if err := src.ScanData(cctx, a, tb.Name, nil, func(eusaas.DataRow) error { return nil }); err != context.Canceled {
				t.Fatalf("scan %s = %v", tb.Name, err)
			}
		}
		if _, err := src.DeleteTenantData(cctx, a); err != context.Canceled {
			t.Fatalf("delete = %v", err)
		}
		if diff := cmp.Diff(c.counts, gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, a))); diff != "" {
			t.Fatalf("canceled deletion removed rows (-want +got):\n%s", diff)
		}
	})

	t.Run("ScanStops", func(t *testing.T) {
		_, src, _, a, _, _ := setup(t)
		stop := eusaas.E(eusaas.Internal, "stop")
		for _, tb := range src.DataTables(a) {
			if c.counts[tb.Name] == 0 {
				continue
			}
			n := 0
			err := src.ScanData(ctx, a, tb.Name, nil, func(eusaas.DataRow) error { n++; return stop })
			if err != stop || n != 1 {
				t.Fatalf("%s: scan = %v after %d rows, want fn's error after 1", tb.Name, err, n)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s, src, data, a, b, _ := setup(t)
		wantB := gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, b))
		c2 := eusaas.NewTenantID()
		done := make(chan error, 8)
		for i := 0; i < 4; i++ {
			go func() {
				for j := 0; j < 20; j++ {
					for _, tn := range []eusaas.TenantID{a, b, c2} {
						for _, tb := range src.DataTables(tn) {
							// fn calls back into the store: the scan must not hold its lock.
							if err := src.ScanData(ctx, tn, tb.Name, nil, func(eusaas.DataRow) error { src.DataTables(tn); return nil }); err != nil {
								done <- err
								return
							}
						}
					}
				}
				done <- nil
			}()
		}
		for i := 0; i < 4; i++ {
			go func() {
				_, err := src.DeleteTenantData(ctx, a)
				done <- err
			}()
		}
		gdprfixture.Fill(t, ctx, s.ports(), c2) // writes while the others scan and delete
		for i := 0; i < 8; i++ {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(zero, gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, a))); diff != "" {
			t.Fatalf("tenant A after concurrent deletes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantB, gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, b))); diff != "" {
			t.Fatalf("tenant B changed (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(c.counts, gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, c2))); diff != "" {
			t.Fatalf("tenant C written concurrently (-want +got):\n%s", diff)
		}
	})

	t.Run("RetentionDeletesOnlyExpired", func(t *testing.T) {
		_, src, data, a, b, _ := setup(t)
		before, beforeB := gdprfixture.Dump(t, ctx, data, a), gdprfixture.Dump(t, ctx, data, b)
		p := gdpr.Policy{TenantID: a, DefaultRetentionDays: 1, AuditLogRetentionDays: 30, BackupRetentionDays: 7, PIIRetentionDays: 1}
		// Nothing has expired yet: nothing changes.
		got, err := retain(ctx, src, a, p, gdprfixture.Base, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("retention counts before any expiry %v, want none", got)
		}
		// Ten years on, rows with expires_at (auth sessions and invitations) are past
		// retention and are deleted, as the Postgres adapter deletes them; anomalies (created_at
		// and deleted_at in Postgres) are soft-deleted and stay for the grace period; nothing
		// else is touched (billing purges its own dedup rows; invoices are kept).
		want, after := map[string]int{}, map[string][]string{}
		for k, v := range before {
			after[k] = v
		}
		for _, tb := range []string{"auth_sessions", "auth_invitations"} {
			if n := c.counts[tb]; n > 0 {
				want[tb+".hard_deleted"] = n
				after[tb] = nil
			}
		}
		if n := c.counts["anomalies"]; n > 0 {
			want["anomalies.soft_deleted"] = n
		}
		got, err = retain(ctx, src, a, p, gdprfixture.Base.AddDate(10, 0, 0), 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("retention counts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(gdprfixture.RowCounts(after), gdprfixture.RowCounts(gdprfixture.Dump(t, ctx, data, a))); diff != "" {
			t.Fatalf("retention left (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(beforeB, gdprfixture.Dump(t, ctx, data, b)); diff != "" {
			t.Fatalf("retention changed tenant B (-before +after):\n%s", diff)
		}
		got, err = retain(ctx, src, a, p, gdprfixture.Base.AddDate(10, 0, 0), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("second run counts %v, want none (idempotent)", got)
		}
	})
}
