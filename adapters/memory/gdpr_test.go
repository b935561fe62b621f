package memory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/memtx"

	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
)

func TestConformanceGDPR(t *testing.T) {
	gdprtest.Run(t, gdprtest.Harness{
		Features: gdprtest.Features{Transactions: true},
		New: func(t *testing.T) gdprtest.Stores {
			s := memory.NewGDPRStore()
			return gdprtest.Stores{Store: s, Keys: s, Archives: memory.NewGDPRArchives(), Tx: memtx.NewTxRunner()}
		},
	})
}

type gdprTestSchemas struct {
	tables *memory.GDPRTables
	tenant eusaas.TenantID
	exists bool
}

func (s *gdprTestSchemas) DropSchema(ctx context.Context, id eusaas.TenantID) error {
	if id == s.tenant {
		s.exists = false
	}
	return nil
}

func TestConformanceGDPRSaga(t *testing.T) {
	gdprtest.RunSaga(t, gdprtest.SagaHarness{New: func(t *testing.T, tenant eusaas.TenantID) gdprtest.SagaEnv {
		s := memory.NewGDPRStore()
		tables := memory.NewGDPRTables()
		tables.Define(gdpr.Table{Name: "users", Columns: []string{"id", "email"}, SubjectColumn: "id"})
		tables.Define(gdpr.Table{Name: "notes", Columns: []string{"id", "user_id", "body"}, SubjectColumn: "user_id"})
		for i := 0; i < 10; i++ {
			tables.Insert(tenant, "users", map[string]string{"id": fmt.Sprint("u", i), "email": fmt.Sprint("u", i, "@example.eu")})
			tables.Insert(tenant, "notes", map[string]string{"id": fmt.Sprint(i), "user_id": fmt.Sprint("u", i), "body": "hello"})
		}
		schemas := &gdprTestSchemas{tables: tables, tenant: tenant, exists: true}
		return gdprtest.SagaEnv{
			Stores:       gdprtest.Stores{Store: s, Keys: s, Archives: memory.NewGDPRArchives(), Tx: memtx.NewTxRunner()},
			Data:         memory.NewGDPRData(tables),
			Schemas:      schemas,
			SchemaExists: func() bool { return schemas.exists || tables.Count(tenant, "users") > 0 },
			Rows:         20,
		}
	}})
}
