package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// testPanicEnv, set in a script, makes the test binary (acting as
// chronik-e2e) know the scenario test-panic, which panics: with "goroutine"
// in a goroutine started with env.Panics.Go, with "run" in its Run. The real
// binary never has it.
const testPanicEnv = "CHRONIK_E2E_TEST_PANIC"

func init() {
	if mode := os.Getenv(testPanicEnv); mode != "" {
		scenarios.Register(panicScenario{mode: mode})
	}
}

// panicScenario is test-panic.
type panicScenario struct{ mode string }

var _ scenarios.Scenario = panicScenario{}

func (panicScenario) Name() string       { return "test-panic" }
func (panicScenario) Requires() []string { return []string{"topic-create"} }
func (panicScenario) Summary() string    { return "test only: panic, as a bug in chronik-e2e would" }

func (s panicScenario) Run(ctx context.Context, env *scenarios.Env, _ *scenarios.Step) error {
	if s.mode == "run" {
		panicHere("boom in Run")
	}
	env.Panics.Go("reader of partition 0", func() { panicHere("boom in a goroutine") })
	<-ctx.Done()
	return context.Cause(ctx)
}

func panicHere(v string) { panic(v) }

// TestExecuteRecoversPanic: a panic in a command's own code (here a
// command added for the test) ends with exit 5 and a few lines on stderr
// that say it is a bug and where the full stack is: never a goroutine dump.
func TestExecuteRecoversPanic(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	tm, out, errOut := term.Test()
	root := newRootCmd(tm)
	root.AddCommand(&cobra.Command{Use: "explode", RunE: func(*cobra.Command, []string) error {
		var s []*cobra.Command
		return s[3].Execute() // index out of range
	}})
	code := execute(context.Background(), tm, root, []string{"explode"})
	if code != exitcode.Internal {
		t.Errorf("exit %d, want %d", code, exitcode.Internal)
	}
	stderr := errOut.String()
	if !strings.HasPrefix(stderr, "chronik-e2e: internal error in chronik-e2e explode: runtime error: index out of range [3] with length 0 (this is a bug in chronik-e2e)\n") ||
		!strings.Contains(stderr, "panic_test.go:") || strings.Contains(stderr, "goroutine ") {
		t.Errorf("stderr:\n%s", stderr)
	}
	m := regexp.MustCompile(`hint: please report it with the full stack, written to (\S+)\n$`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("stderr names no stack file:\n%s", stderr)
	}
	stack, err := os.ReadFile(m[1])
	if err != nil || !strings.Contains(string(stack), "goroutine ") || !strings.Contains(string(stack), "panic_test.go:") {
		t.Errorf("stack file %s: %v\n%s", m[1], err, stack)
	}
	if out.Len() > 0 {
		t.Errorf("stdout: %q", out)
	}
}
