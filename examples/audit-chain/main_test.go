package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	require.Equal(t, `before tampering: ok=true entries=4 checkpoint size=4
edited entry 2: ok=false verified=1 finding: seq 2: modified: entry content does not match its hash
deleted the tail: ok=false verified=3 finding: seq 4: truncated: chain ends at 3, a signed checkpoint covers 4
`, out.String())
}
