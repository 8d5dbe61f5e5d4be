package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// newScenarioCmd returns `chronik-e2e scenario NAME`; runF replaces the run in flag-parsing tests.
func newScenarioCmd(t *term.Terminal, runF func(*RunOptions) error) *cobra.Command {
	o := &RunOptions{}
	cmd := &cobra.Command{
		Use:   "scenario NAME",
		Short: "Run one scenario, and whatever it needs first, on the profile's cluster (default: embedded)",
		Example: `  chronik-e2e scenario produce --acks all
  chronik-e2e scenario consume --messages 100000 --partitions 12
  chronik-e2e scenario metadata --bootstrap 127.0.0.1:9092`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return exitcode.Usagef("scenario takes one scenario name (known: %s)", joinNames(scenarios.Names()))
			}
			if _, ok := scenarios.Lookup(args[0]); !ok {
				return exitcode.Usagef("unknown scenario %q (known: %s)", args[0], joinNames(scenarios.Names()))
			}
			return nil
		},
		ValidArgsFunction: completeScenarios,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Scenarios = []string{args[0]}
			return runOrCapture(cmd, t, o, runF)
		},
	}
	addRunFlags(cmd, o)
	return cmd
}

// newScenariosCmd returns `chronik-e2e scenarios`, the list of registered scenarios.
func newScenariosCmd(t *term.Terminal) *cobra.Command {
	var jsonPath string
	cmd := &cobra.Command{
		Use:   "scenarios",
		Short: "List the registered scenarios",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if jsonPath != "" {
				return usageErr(scenariosJSON(t, jsonPath))
			}
			width := 0
			for _, s := range scenarios.All() {
				width = max(width, len(s.Name()))
			}
			for _, s := range scenarios.All() {
				needs := ""
				if r := s.Requires(); len(r) > 0 {
					needs = fmt.Sprintf(" (needs %s)", joinNames(r))
				}
				fmt.Fprintf(t.Out, "%-*s  %s%s\n", width, s.Name(), s.Summary(), needs)
			}
			return nil
		},
	}
	addJSONFlag(cmd, &jsonPath)
	return cmd
}
