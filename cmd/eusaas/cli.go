package main

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// The command line, on cobra (ADR 0010). Three rules users rely on in scripts:
//   - help never acts: `eusaas help [COMMAND]`, `COMMAND --help` and `-h` print help and exit 0
//     without listening, connecting or generating anything (cobra answers them before RunE);
//   - a wrong invocation (unknown command or flag, missing or extra arguments, a bad flag or
//     configuration value) prints a short error and exits 2;
//   - a command that ran and failed (a verification that found tampering, a database error)
//     exits 1.
// Flags are GNU style everywhere (--name value, --name=value); no command parses its own.

// usageError is a wrong invocation: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// args wraps a cobra positional-argument rule so its failure is a usage error.
func args(rule cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := rule(cmd, a); err != nil {
			return &usageError{err.Error()}
		}
		return nil
	}
}

// noArgs refuses positional arguments, naming the first as an unknown command when the
// command has subcommands.
func noArgs(cmd *cobra.Command, a []string) error {
	if len(a) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return usageErrorf("unknown command %q for %q", a[0], cmd.CommandPath())
	}
	return usageErrorf("%s takes no arguments (got %q)", cmd.CommandPath(), a[0])
}

// group is a command that only holds subcommands: called bare or with an unknown
// subcommand it is a usage error.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("%s needs a subcommand; see `%s --help`", cmd.CommandPath(), cmd.CommandPath())
		},
	}
	c.AddCommand(subs...)
	return c
}

// rootCommand builds the whole command tree for one run.
func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "eusaas",
		Short: "the eusaas reference server and its operator commands",
		Long: `eusaas wires the eusaas modules (tenancy, auth, billing, anomaly, gdpr, audit) into one
REST platform. Configuration is read from APP_* environment variables (see README.md); with no
APP_POSTGRES_* variable set the server runs on the in-memory adapters.`,
		Args:          noArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("missing command; see `eusaas --help`")
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err.Error()} })
	root.SetHelpCommand(m.helpCommand(root))

	root.AddCommand(
		&cobra.Command{
			Use:   "serve",
			Short: "run the HTTP server and, unless APP_JOBS_IN_PROCESS=false, the job workers",
			Args:  noArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return m.serve(cmd.Context()) },
		},
		&cobra.Command{
			Use:   "worker",
			Short: "run only the background job workers (Postgres mode)",
			Args:  noArgs,
			RunE:  func(cmd *cobra.Command, _ []string) error { return cmdWorker(cmd.Context(), m) },
		},
		m.migrateCommand(),
		group("keys", "manage the RS256 keys of access tokens", m.keysGenerateCommand()),
		group("audit", "verify and export the audit log and make its signing key", m.auditVerifyCommand(), m.auditKeygenCommand(),
			m.auditExportCommand(), m.auditVerifyExportCommand()),
		group("anomaly", "scan for cost anomalies and evaluate the detectors", m.anomalyScanCommand(), m.anomalyEvalCommand()),
		group("gdpr", "verify GDPR export archives offline, make the signing key and KEK, rotate the KEK",
			m.gdprVerifyExportCommand(), m.gdprVerifyEvidenceCommand(), m.gdprKeygenCommand(), m.gdprRotateKEKCommand()),
		m.citusCommand(),
		&cobra.Command{
			Use:   "version",
			Short: "print the module version and the VCS revision it was built from",
			Args:  noArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				_, err := fmt.Fprint(cmd.OutOrStdout(), versionText(debug.ReadBuildInfo()))
				return err
			},
		},
	)
	return root
}

// helpCommand is `eusaas help [COMMAND...]`: an unknown topic is a usage error (cobra's own
// prints a notice and exits 0).
func (m *Main) helpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "show help for a command",
		RunE: func(cmd *cobra.Command, a []string) error {
			target, rest, err := root.Find(a)
			if err != nil || len(rest) > 0 {
				return usageErrorf("unknown help topic %q", strings.Join(a, " "))
			}
			target.SetOut(cmd.OutOrStdout())
			return target.Help()
		},
	}
}

// versionText renders the build info: module version, VCS revision and time, Go version.
func versionText(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "eusaas " + Version() + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "eusaas %s\n", Version())
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		mod := ""
		if settings["vcs.modified"] == "true" {
			mod = " (modified)"
		}
		fmt.Fprintf(&b, "revision %s%s", rev, mod)
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(&b, " at %s", t)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("revision unknown (built without VCS information)\n")
	}
	fmt.Fprintf(&b, "module %s, built with %s\n", bi.Main.Path, bi.GoVersion)
	return b.String()
}

// exitCode maps a command's error to the process exit status, printing it.
func (m *Main) exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(m.Stderr, "eusaas: %v\n", err)
		return 2
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		fmt.Fprintf(m.Stderr, "eusaas: configuration error: %v\n", err)
		return 2
	}
	fmt.Fprintf(m.Stderr, "eusaas: %v\n", err)
	return 1
}

// runCommand executes args against the command tree.
func (m *Main) runCommand(ctx context.Context, argv []string) int {
	root := m.rootCommand()
	root.SetArgs(argv)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	root.SetIn(strings.NewReader(""))
	return m.exitCode(root.ExecuteContext(ctx))
}
