package main

import "context"

// command is a subcommand: it parses its own flags from args.
type command func(ctx context.Context, m *Main, args []string) error

// commands lists the subcommands beyond serve and version; each module's cmd_<module>.go
// defines its functions and this table names them (explicit, no init() registration).
func commands() map[string]command {
	return map[string]command{
		"migrate": cmdMigrate, // cmd_tenancy.go
		"keys":    keysCommand,
		"audit":   cmdAudit,
		"gdpr":    gdprCommand,
		"anomaly": cmdAnomaly, // cmd_anomaly.go
		"worker":  cmdWorker,  // app.go
		"citus":   cmdCitus,   // cmd_citus.go
	}
}
