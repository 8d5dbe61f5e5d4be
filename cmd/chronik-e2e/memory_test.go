package main

import (
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// tuneGC lowers the GC percent only for ledgers over gcHeadroom, keeps the
// headroom about gcHeadroom, never goes below 10%, and leaves a GOGC the
// user set alone.
func TestTuneGC(t *testing.T) {
	for _, tt := range []struct {
		name     string
		gogc     string
		messages int
		want     int
	}{
		{"small run", "", 1_000_000, 100},       // 16 MB ledger
		{"at the headroom", "", 2_097_152, 100}, // 32 MiB ledger
		{"8 million", "", 8_000_000, 26},        // 128 MB ledger: 32 MiB is 26%
		{"10 million", "", 10_000_000, 20},      // 160 MB ledger: 20%
		{"100 million", "", 100_000_000, 10},    // 1.6 GB ledger: 2%, the floor
		{"GOGC set", "50", 100_000_000, 100},    // left alone
		{"GOGC off", "off", 10_000_000, 100},    // left alone too
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			old := debug.SetGCPercent(100)
			defer debug.SetGCPercent(old)
			tuneGC(tt.messages)
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Errorf("tuneGC(%d) with GOGC=%q: GC percent %d, want %d", tt.messages, tt.gogc, got, tt.want)
			}
		})
	}
}

// judgeResources refuses, as bad usage (exit 2), a run that needs more
// memory or file descriptors than the machine gives, naming the estimate
// and the limit; an unknown limit (0) is not checked.
func TestJudgeResources(t *testing.T) {
	p := profile.Default()
	n := estimateRun(p)
	for _, tt := range []struct {
		name  string
		avail int64
		fds   uint64
		want  string // "" for no error
	}{
		{"fits", n.Memory * 2, uint64(n.FDs) * 2, ""},
		{"limits unknown", 0, 0, ""},
		{"too little memory", n.Memory / 2, 0, "the run needs about " + sizeOf(n.Memory) + " of memory (ledger 16 kB (16 B × 1000 messages); the embedded cluster's data"},
		{"too few file descriptors", 0, uint64(n.FDs) - 1, fmt.Sprintf("the run needs about %d file descriptors (3 node(s), 1 producer(s)), more than the limit of %d (ulimit -n)", n.FDs, n.FDs-1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := judgeResources(p, n, tt.avail, "MemAvailable in /proc/meminfo", tt.fds)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("error %v, want one starting %q", err, tt.want)
			case tt.want != "" && exitcode.Code(err) != exitcode.Usage:
				t.Errorf("exit code %d, want %d", exitcode.Code(err), exitcode.Usage)
			}
		})
	}
}

// The estimate grows with what the run holds: messages (ledger and the
// embedded cluster's data), values, keys; an attached cluster's data is not
// in this process.
func TestEstimateRunGrows(t *testing.T) {
	base := estimateRun(profile.Default())
	for _, tt := range []struct {
		name  string
		apply func(*profile.Profile)
	}{
		{"messages", func(p *profile.Profile) { p.Workload.Messages *= 10 }},
		{"values", func(p *profile.Profile) { p.Workload.ValueBytes *= 10 }},
		{"keys", func(p *profile.Profile) { p.Workload.Keys = 1_000_000 }},
	} {
		p := profile.Default()
		tt.apply(p)
		if got := estimateRun(p); got.Memory <= base.Memory {
			t.Errorf("%s: estimate %d, not more than the default's %d", tt.name, got.Memory, base.Memory)
		}
	}
	p := profile.Default()
	p.Cluster.Mode = profile.ModeAttach
	if got := estimateRun(p); got.Embedded != 0 || got.Memory >= base.Memory {
		t.Errorf("attached: embedded data %d, memory %d; want none, and less than embedded (%d)", got.Embedded, got.Memory, base.Memory)
	}
}
