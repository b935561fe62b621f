package memory_test

import (
	"testing"

	"github.com/eusaas/eusaas/adapters/memory"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
)

func TestConformanceGDPR(t *testing.T) {
	gdprtest.Run(t, gdprtest.Harness{
		Features: gdprtest.Features{Transactions: true},
		New: func(t *testing.T) gdprtest.Stores {
			s := memory.NewGDPRStore()
			return gdprtest.Stores{Store: s, Keys: s, Archives: memory.NewGDPRArchives(), Tx: memory.NewTxRunner()}
		},
	})
}
