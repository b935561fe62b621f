package audittest_test

import (
	"testing"

	"github.com/eusaas/eusaas/audit/audittest"
)

// The reference sink passes its own suite (it keeps nothing across processes: no Reopen).
func TestConformanceSink(t *testing.T) {
	audittest.RunSink(t, audittest.SinkHarness{
		New: func(t *testing.T) audittest.SinkEnv { return audittest.SinkEnv{Sink: &audittest.Sink{}} },
	})
}
