//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// TestMemoryEstimate runs the real binary on the embedded cluster and checks
// that the estimate checkResources judges a run by is within 30% of the
// peak resident memory the run measured (its rusage maxrss). Under the race
// detector, which multiplies memory, it is skipped: CI runs it in the plain
// go test ./... first.
func TestMemoryEstimate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector multiplies memory; the plain go test ./... checks the estimate")
	}
	if testing.Short() {
		t.Skip("runs 800,000 messages")
	}
	bin, err := exec.LookPath("chronik-e2e") // testscript's TestMain put it on $PATH
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		apply func(*profile.Profile)
	}{
		{"small values", []string{"--profile", "3x3", "--messages", "800000"}, func(p *profile.Profile) { p.Workload.Messages = 800000 }},
		{"1000-byte values", []string{"--profile", "v1000.yaml"}, func(p *profile.Profile) {
			p.Workload.Messages, p.Workload.ValueBytes = 100000, 1000
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			v1000 := "name: v1000\nworkload: {messages: 100000, value_bytes: 1000}\nscenarios: [topic-create, produce, consume, metadata]\n"
			if err := os.WriteFile(filepath.Join(dir, "v1000.yaml"), []byte(v1000), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run"}, tc.args...)
			cmd := exec.Command(bin, args...)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("chronik-e2e %v: %v\n%s", args, err, out)
			}
			measured := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // kB on Linux
			p := profile.Default()
			tc.apply(p)
			est := estimateRun(p).Memory
			t.Logf("estimate %s, measured %s (%+.0f%%)", sizeOf(est), sizeOf(measured), 100*(float64(est)/float64(measured)-1))
			if ratio := float64(est) / float64(measured); ratio < 0.7 || ratio > 1.3 {
				t.Errorf("estimate %s is not within 30%% of the measured peak RSS %s", sizeOf(est), sizeOf(measured))
			}
		})
	}
}
