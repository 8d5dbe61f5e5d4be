package main

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// FuzzRunFlags: every command line of run (flags that override the
// profile, and the profile itself) ends in a validated profile whose
// resources were checked, or in a usage error (exit 2); never a panic.
// The input is the command line, its arguments separated by spaces.
// `make fuzz` runs it for longer.
func FuzzRunFlags(f *testing.F) {
	for _, s := range []string{
		"--profile 3x3",
		"--profile 3x3 --bootstrap ",
		"--profile 3x3 --bootstrap=",
		"--profile 3x3 --bootstrap 127.0.0.1:9092,, --nodes 1 --replication-factor 1",
		"--profile 3x3 --messages 9223372036854775807",
		"--profile 3x9 --partitions 0 --acks 2 --topic .. --fault-target node:9",
		"--profile failover --allow-not-applicable --fault-seed -1",
		"--profile chronik-3x3 --nodes 300",
		"--profile scale --messages 1000000000 --nodes 64",
		"-p 3x3 --json /",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		tm, _, _ := term.Test()
		var opts *RunOptions
		cmd := newRunCmd(tm, func(o *RunOptions) error { opts = o; return nil })
		cmd.SetArgs(strings.Fields(line))
		cmd.SetOut(tm.Out)
		cmd.SetErr(tm.ErrOut)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return exitcode.UsageError(err) })
		err := cmd.ExecuteContext(context.Background())
		if err != nil || opts == nil {
			if err != nil && exitcode.Code(err) != exitcode.Usage {
				t.Fatalf("%q: %v (exit %d), want a usage error", line, err, exitcode.Code(err))
			}
			return
		}
		p, err := loadProfile(context.Background(), opts)
		if err == nil {
			err = checkResources(p)
		}
		if err != nil && exitcode.Code(err) != exitcode.Usage {
			t.Fatalf("%q: %v (exit %d), want a usage error", line, err, exitcode.Code(err))
		}
	})
}
