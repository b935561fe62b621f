package main

import (
	"context"
	"time"

	"github.com/eusaas/eusaas/jobs"
)

// jobRuntime runs the job queue of the store set: River in Postgres mode, the in-process
// runner in memory mode.
type jobRuntime struct {
	Registry *jobs.Registry
	Start    func(ctx context.Context) error
	Stop     func(ctx context.Context) error
}

// runJobs works jobs until ctx ends, then stops, waiting up to 30 s for running jobs. It is
// the body of `eusaas worker`, and runs beside the HTTP server in `eusaas serve` unless the
// operator disables in-process workers.
func runJobs(ctx context.Context, jr *jobRuntime, log interface{ Info(string, ...any) }) error {
	if err := jr.Start(ctx); err != nil {
		return err
	}
	log.Info("job workers started", "kinds", len(jr.Registry.Kinds()), "periodic", len(jr.Registry.Periodics()))
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	log.Info("job workers stopping")
	return jr.Stop(stopCtx)
}
