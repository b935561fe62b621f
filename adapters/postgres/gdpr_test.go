package postgres_test

import (
	"context"
	"testing"

	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/internal/pgtest"
)

func TestConformanceGDPR(t *testing.T) {
	gdprtest.Run(t, gdprtest.Harness{
		Features: gdprtest.Features{Transactions: true},
		New: func(t *testing.T) gdprtest.Stores {
			db := postgres.New(pgtest.Pool(t))
			if err := db.MigratePlatform(context.Background()); err != nil {
				t.Fatal(err)
			}
			kek := make([]byte, 32)
			s, err := postgres.NewGDPRStore(db, kek)
			if err != nil {
				t.Fatal(err)
			}
			return gdprtest.Stores{Store: s, Keys: s, Archives: memory.NewGDPRArchives(), Tx: db}
		},
	})
}
