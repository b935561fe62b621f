package file_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/adapters/file"
	"github.com/eusaas/eusaas/audit"
	"github.com/eusaas/eusaas/audit/audittest"
)

func TestConformanceCheckpointSink(t *testing.T) {
	audittest.RunSink(t, audittest.SinkHarness{
		New: func(t *testing.T) audittest.SinkEnv {
			dir := t.TempDir()
			sink, err := file.NewCheckpointSink(dir)
			require.NoError(t, err)
			return audittest.SinkEnv{
				Sink: sink,
				// A new sink over the same directory, as after a restart.
				Reopen: func(t *testing.T) audit.CheckpointSource {
					again, err := file.NewCheckpointSink(dir)
					require.NoError(t, err)
					return again
				},
			}
		},
	})
}
