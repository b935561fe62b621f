package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// testPause is the crash tests' hook (TestGDPRResumesAfterKill): with APP_TEST_GDPR_PAUSE_AT
// listing points of gdpr.Checkpoints, the first run to reach each listed point writes a
// marker file named after the point ("/" as "_") into APP_TEST_GDPR_PAUSE_DIR and blocks until the process is killed, so the test can kill -9 the
// process at a known step. Runs reaching a point already taken go on. Without the variable
// it returns nil and the service calls nothing.
func (c gdprConfig) testPause(log *slog.Logger) func(ctx context.Context, point string) error {
	if len(c.TestPauseAt) == 0 {
		return nil
	}
	log.Warn("test hook active: gdpr runs pause at APP_TEST_GDPR_PAUSE_AT points until the process is killed", "points", strings.Join(c.TestPauseAt, ","))
	var mu sync.Mutex
	taken := map[string]bool{}
	return func(_ context.Context, point string) error {
		mu.Lock()
		pause := !taken[point] && slices.Contains(c.TestPauseAt, point)
		taken[point] = true
		mu.Unlock()
		if !pause {
			return nil
		}
		marker := filepath.Join(c.TestPauseDir, strings.ReplaceAll(point, "/", "_"))
		if err := os.WriteFile(marker+".tmp", []byte(point+"\n"), 0o600); err != nil {
			return err
		}
		if err := os.Rename(marker+".tmp", marker); err != nil {
			return err
		}
		log.Warn("test hook: gdpr run paused", "point", point)
		select {} // until SIGKILL: the run must neither finish nor fail in this process
	}
}
