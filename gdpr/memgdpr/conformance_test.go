package memgdpr_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/memtx"
)

// TestConformance runs gdprtest's store suite and its tenant erasure saga suite on the
// memory adapter.
func TestConformance(t *testing.T) {
	t.Run("Stores", testStores)
	t.Run("Saga", testSaga)
}

func testStores(t *testing.T) {
	gdprtest.Run(t, gdprtest.Harness{
		Features: gdprtest.Features{Transactions: true},
		New: func(t *testing.T) gdprtest.Stores {
			s := memgdpr.NewStore()
			return gdprtest.Stores{Requests: s, Policies: s, Holds: s, Keys: s, Archives: memgdpr.NewArchives(), DSRs: s, Breaches: s, Leases: memgdpr.NewLeases(), Tx: memtx.NewTxRunner()}
		},
	})
}

type gdprTestSchemas struct {
	tables *memgdpr.Tables
	tenant eusaas.TenantID
	exists bool
}

func (s *gdprTestSchemas) DropSchema(ctx context.Context, id eusaas.TenantID) error {
	if id == s.tenant {
		s.exists = false
	}
	return nil
}

func testSaga(t *testing.T) {
	gdprtest.RunSaga(t, gdprtest.SagaHarness{New: func(t *testing.T, tenant eusaas.TenantID) gdprtest.SagaEnv {
		s := memgdpr.NewStore()
		tables := memgdpr.NewTables()
		tables.Define(gdpr.Table{Name: "users", Columns: []string{"id", "email"}, SubjectColumn: "id"})
		tables.Define(gdpr.Table{Name: "notes", Columns: []string{"id", "user_id", "body"}, SubjectColumn: "user_id"})
		for i := 0; i < 10; i++ {
			if err := tables.Insert(tenant, "users", map[string]any{"id": fmt.Sprint("u", i), "email": fmt.Sprint("u", i, "@example.eu")}); err != nil {
				t.Fatal(err)
			}
			if err := tables.Insert(tenant, "notes", map[string]any{"id": int64(i), "user_id": fmt.Sprint("u", i), "body": "hello"}); err != nil {
				t.Fatal(err)
			}
		}
		schemas := &gdprTestSchemas{tables: tables, tenant: tenant, exists: true}
		return gdprtest.SagaEnv{
			Stores:       gdprtest.Stores{Requests: s, Policies: s, Holds: s, Keys: s, Archives: memgdpr.NewArchives(), Tx: memtx.NewTxRunner()},
			Data:         memgdpr.NewTenantData(tables),
			Schemas:      schemas,
			SchemaExists: func() bool { return schemas.exists || tables.Count(tenant, "users") > 0 },
			Rows:         20,
		}
	}})
}
