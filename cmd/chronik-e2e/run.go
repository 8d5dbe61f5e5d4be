package main

import (
	"github.com/spf13/cobra"
	"strings"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// newRunCmd returns `chronik-e2e run`; runF replaces the run in flag-parsing tests.
func newRunCmd(t *term.Terminal, runF func(*RunOptions) error) *cobra.Command {
	o := &RunOptions{}
	cmd := &cobra.Command{
		Use:   "run --profile PROFILE",
		Short: "Run a profile's scenarios in order and report the verdict",
		Example: `  chronik-e2e run --profile 3x3.yaml
  chronik-e2e run --profile 3x9 --json report.json
  chronik-e2e run --profile 3x3 --bootstrap 127.0.0.1:9092,127.0.0.1:9192`,
		Args: func(cmd *cobra.Command, args []string) error {
			err := noArgs(cmd, args)
			if err != nil && o.Profile == "" { // `run 3x3`: a profile without its flag
				return &exitcode.Error{Code: exitcode.Usage, Err: err, Hint: "give the profile with --profile " + args[0]}
			}
			return err
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Profile == "" {
				return exitcode.Usagef("run needs --profile (a path, or one of the built-in profiles; `chronik-e2e scenario NAME` runs with the built-in default)")
			}
			return runOrCapture(cmd, t, o, runF)
		},
	}
	addRunFlags(cmd, o)
	return cmd
}

// runOrCapture finishes reading the run flags into o, then runs the profile,
// or hands o to runF in flag-parsing tests.
func runOrCapture(cmd *cobra.Command, t *term.Terminal, o *RunOptions, runF func(*RunOptions) error) error {
	readIntFlags(cmd, o)
	if err := readSecurityFlags(cmd, &o.Overrides.Security); err != nil {
		return err
	}
	if err := readWorkloadFlags(cmd, o); err != nil {
		return err
	}
	for _, name := range []string{"shard", "run-group"} {
		if v, _ := cmd.Flags().GetString(name); cmd.Flags().Changed(name) && strings.TrimSpace(v) == "" {
			// An empty value (an unset variable in CI) is an error, never "no shard".
			return exitcode.Usagef("--%s is empty: give %s", name, map[string]string{"shard": "I/N, e.g. --shard 0/3", "run-group": "the id every shard of the run shares"}[name])
		}
	}
	if runF != nil {
		return runF(o)
	}
	return runProfile(cmd.Context(), t, o)
}
