package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/artifacts"
	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// TestPanicEndsRunWithError: a panic in a goroutine a scenario started with
// env.Panics.Go, or in a scenario's Run itself, stops the run at once with
// verdict ERROR: the scenario is ERROR, the rest are not run, and the
// report, its renderings and the artifacts carry the stack.
func TestPanicEndsRunWithError(t *testing.T) {
	for _, tt := range []struct {
		name, where string
		hook        hookFunc
	}{
		{"goroutine", "reader of partition 0", func(ctx context.Context, env *scenarios.Env) error {
			env.Panics.Go("reader of partition 0", func() { panicInGoroutine() })
			<-ctx.Done() // the panic must cancel the scenario, not its deadline
			return context.Cause(ctx)
		}},
		{"run", "scenario " + hookName, func(context.Context, *scenarios.Env) error {
			var m map[string]int
			m["boom"]++ // a plain runtime panic: assignment to entry in nil map
			return nil
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := startEmbedded(t, 1)
			var cause error
			onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
				cause = tt.hook(ctx, env)
				return cause
			})
			p := smallProfile(t, 1, 1, 1, func(p *profile.Profile) {
				p.Scenarios = []string{"topic-create", hookName, "produce", "consume"}
			})
			rep := run(t, p, c)

			if rep.Passed || rep.Verdict != report.VerdictError || !rep.Errored() {
				t.Fatalf("passed %v, verdict %q, want ERROR", rep.Passed, rep.Verdict)
			}
			if tt.name == "goroutine" && !strings.Contains(errString(cause), "internal error in reader of partition 0") {
				t.Errorf("the scenario ended with %v, want the panic as cause", cause)
			}
			if len(rep.InternalErrors) != 1 {
				t.Fatalf("internal errors %+v, want 1", rep.InternalErrors)
			}
			ie := rep.InternalErrors[0]
			if ie.Where != tt.where || ie.Scenario != hookName || !strings.Contains(ie.Stack, "panic_test.go") {
				t.Errorf("internal error %+v", ie)
			}
			hook := section(t, rep, hookName)
			if !hook.InternalError || hook.Passed || !strings.Contains(hook.Error, "this is a bug in chronik-e2e") {
				t.Errorf("scenario %s: %+v", hookName, hook)
			}
			for _, name := range []string{"produce", "consume"} {
				s := section(t, rep, name)
				wantError(t, s, "not run: an internal error stopped the run")
			}

			var term bytes.Buffer
			if err := report.Render(&term, rep, nil); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"✗ ERROR  internal error: this is a bug in chronik-e2e",
				tt.where, "panic_test.go",
			} {
				if !strings.Contains(term.String(), want) {
					t.Errorf("terminal report lacks %q:\n%s", want, term.String())
				}
			}

			dir, err := artifacts.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if err := dir.WriteRun(rep); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir.Path, artifacts.PanicFile))
			if err != nil || !strings.Contains(string(data), ie.Stack) {
				t.Errorf("%s: %v\n%s", artifacts.PanicFile, err, data)
			}
			var back struct {
				Verdict        string
				InternalErrors []report.InternalError `json:"internal_errors"`
			}
			data, _ = os.ReadFile(filepath.Join(dir.Path, artifacts.JSONFile))
			if err := json.Unmarshal(data, &back); err != nil || back.Verdict != "ERROR" ||
				len(back.InternalErrors) != 1 || back.InternalErrors[0].Stack != ie.Stack {
				t.Errorf("JSON report: %v, %+v", err, back)
			}
			for _, f := range []string{artifacts.JUnitFile, artifacts.MarkdownFile} {
				data, _ := os.ReadFile(filepath.Join(dir.Path, f))
				if !bytes.Contains(data, []byte("panic_test.go")) {
					t.Errorf("%s has no stack:\n%s", f, data)
				}
			}
		})
	}
}

// panicInGoroutine panics, one frame below the goroutine's function, so the
// stack names it.
func panicInGoroutine() { panic(errors.New("boom")) }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestPanicInRunnerEndsWithError: a panic in the runner's own code (here in
// BeforeClose, as a bug collecting node logs would) still returns the report,
// with verdict ERROR and the stack, and the cluster the runner started is
// stopped all the same.
func TestPanicInRunnerEndsWithError(t *testing.T) {
	p := smallProfile(t, 1, 1, 1, func(p *profile.Profile) { p.Scenarios = []string{"topic-create"} })
	var c cluster.Cluster
	rep, err := runner.Run(context.Background(), runner.Options{Profile: p, BeforeClose: func(cl cluster.Cluster) {
		c = cl
		panicInGoroutine()
	}})
	if err != nil || rep == nil {
		t.Fatalf("Run = %v, %v; want the report", rep, err)
	}
	if rep.Verdict != report.VerdictError || len(rep.InternalErrors) != 1 || rep.InternalErrors[0].Where != "runner" ||
		!strings.Contains(rep.InternalErrors[0].Stack, "panic_test.go") {
		t.Errorf("verdict %q, internal errors %+v", rep.Verdict, rep.InternalErrors)
	}
	if !section(t, rep, "topic-create").Passed {
		t.Errorf("topic-create did not pass: %s", describe(rep))
	}
	if _, err := cluster.WaitReady(context.Background(), c.Bootstrap(), 1, 300*time.Millisecond, sarama.NewConfig(), nil); err == nil {
		t.Errorf("the cluster still answers after the run")
	}
}

// TestReaderPanicEndsRunWithError: a panic inside one of the partition
// readers of pkg/verify (here: a reading handed no ledger, so recording the
// first record dereferences nil) is caught in the reader's goroutine and
// ends the run with verdict ERROR naming the reader, not a crashed process.
func TestReaderPanicEndsRunWithError(t *testing.T) {
	c := startEmbedded(t, 1)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		client, err := sarama.NewClient(env.Cluster.Bootstrap(), env.Config())
		if err != nil {
			return err
		}
		consumer, err := sarama.NewConsumerFromClient(client)
		if err != nil {
			client.Close()
			return err
		}
		rd := verify.StartReading(ctx, verify.ReadOptions{
			Client: client, Consumer: consumer, Topic: env.Topic, Partitions: []int32{0}, Starts: []int64{0},
			Expect: verify.Expect{RunID: env.RunID, N: env.Profile.Workload.Messages, Keys: workload.Keys(env.Profile.Workload.Keys)},
			Ledger: nil, Findings: verify.NewFindings(), Panics: env.Panics,
		})
		defer rd.Close()
		rd.SetEnds([]int64{1})
		rd.Wait(ctx)
		<-ctx.Done() // the panic cancels the scenario
		return context.Cause(ctx)
	})
	rep := run(t, smallProfile(t, 1, 1, 1, func(p *profile.Profile) {
		p.Scenarios = []string{"topic-create", "produce", hookName, "consume"}
	}), c)
	if rep.Verdict != report.VerdictError || len(rep.InternalErrors) != 1 {
		t.Fatalf("verdict %q, internal errors %+v; want ERROR with one", rep.Verdict, rep.InternalErrors)
	}
	if ie := rep.InternalErrors[0]; !strings.HasPrefix(ie.Where, "reader of "+rep.Config.Topic+" partition 0") || !strings.Contains(ie.Stack, "verify.(*Checker).Check") {
		t.Errorf("internal error %+v, want the reader of partition 0 with the checker in its stack", ie)
	}
	wantError(t, section(t, rep, "consume"), "not run: an internal error stopped the run")
}
