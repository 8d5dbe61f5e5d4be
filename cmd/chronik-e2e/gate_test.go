package main

import (
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// TestGateFlags: run and scenario take the release-gate flags into
// RunOptions.Gate; --repeat defaults to one run.
func TestGateFlags(t *testing.T) {
	tm, _, _ := term.Test()
	for _, tt := range []struct {
		args []string
		want GateOptions
	}{
		{[]string{"run", "--profile", "3x3"}, GateOptions{Repeat: 1}},
		{[]string{"run", "--profile", "3x3", "--baseline", "old.json", "--junit", "j.xml", "--markdown", "s.md", "--repeat", "5", "--artifacts", "out"},
			GateOptions{Baseline: "old.json", JUnit: "j.xml", Markdown: "s.md", Repeat: 5, Artifacts: "out"}},
		{[]string{"scenario", "produce", "--repeat", "2", "--junit", "j.xml"}, GateOptions{Repeat: 2, JUnit: "j.xml"}},
	} {
		var got *RunOptions
		capture := func(o *RunOptions) error { got = o; return nil }
		root := newRootCmd(tm)
		root.RemoveCommand(root.Commands()...)
		root.AddCommand(newRunCmd(tm, capture), newScenarioCmd(tm, capture))
		root.SetArgs(tt.args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got == nil || got.Gate != tt.want {
			t.Errorf("%v: gate options %+v, want %+v", tt.args, got, tt.want)
		}
	}
}
