package cluster

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestWatcher(t *testing.T, logs profile.SpawnLogs) (*logWatcher, *bytes.Buffer, *fakeClock) {
	t.Helper()
	rules, err := compileLogRules(logs)
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	w := newLogWatcher(2, &file, rules)
	clock := &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	w.now = clock.now
	return w, &file, clock
}

func TestLogWatcherJudgesLines(t *testing.T) {
	w, file, clock := newTestWatcher(t, profile.SpawnLogs{
		FailOn: []string{"panicked at", "(?i)quorum lost"},
		Ignore: []string{"quorum lost for __meta"},
		Grace:  profile.Duration{Duration: 10 * time.Second},
		Count:  map[string]string{"elections": "(?i)became leader"},
	})
	w.started()
	w.follow(strings.NewReader(
		"\x1b[32m INFO\x1b[0m node 2 became leader of raft group 0\n" + // counted
			"WARN Quorum lost while starting\n" + // within the grace: noted
			"WARN quorum lost for __meta partition 0\n")) // ignored
	clock.advance(11 * time.Second)
	w.follow(strings.NewReader(
		"ERROR \x1b[1mquorum lost\x1b[0m for e2e-3x3 partition 1\r\n" + // fails
			"INFO Became Leader again\n" + // counted
			"thread 'main' panicked at src/main.rs:1:1:")) // fails; no newline at EOF
	w.stopJudging()
	w.follow(strings.NewReader("ERROR Quorum lost: shutting down\n")) // stopping: logged only

	findings, dropped, counts := w.snapshot()
	if dropped != 0 || counts["elections"] != 2 {
		t.Errorf("dropped %d, counts %v; want 0 and elections 2", dropped, counts)
	}
	want := []struct {
		line    string
		pattern string
		grace   bool
	}{
		{"WARN Quorum lost while starting", "(?i)quorum lost", true},
		{"ERROR quorum lost for e2e-3x3 partition 1", "(?i)quorum lost", false},
		{"thread 'main' panicked at src/main.rs:1:1:", "panicked at", false},
	}
	if len(findings) != len(want) {
		t.Fatalf("findings = %+v, want %d", findings, len(want))
	}
	for i, f := range findings {
		if f.Line != want[i].line || f.Pattern != want[i].pattern || f.InGrace != want[i].grace || f.Node != 2 {
			t.Errorf("finding %d = %+v, want %+v of node 2", i, f, want[i])
		}
	}
	if !findings[1].Time.Equal(clock.t) {
		t.Errorf("finding time %v, want the clock's %v", findings[1].Time, clock.t)
	}
	log := file.String()
	if strings.Contains(log, "\x1b") || strings.Contains(log, "\r") {
		t.Errorf("the log file keeps escapes:\n%q", log)
	}
	for _, l := range []string{" INFO node 2 became leader of raft group 0\n", "thread 'main' panicked at src/main.rs:1:1:\n", "ERROR Quorum lost: shutting down\n"} {
		if !strings.Contains(log, l) {
			t.Errorf("the log file lacks %q:\n%s", l, log)
		}
	}
}

func TestLogWatcherTailAndBounds(t *testing.T) {
	w, file, _ := newTestWatcher(t, profile.SpawnLogs{FailOn: []string{"bad"}})
	w.started()
	var in strings.Builder
	for i := range 40 {
		fmt.Fprintf(&in, "line %d\n", i)
	}
	huge := strings.Repeat("x", 200<<10) // longer than the reader's buffer and maxLineBytes
	in.WriteString(huge + "\n")
	for range maxLogFindings + 7 {
		in.WriteString("bad thing\n")
	}
	in.WriteString("last line\n")
	w.follow(strings.NewReader(in.String()))

	tail := w.lastLines()
	if len(tail) != tailLines || tail[len(tail)-1] != "last line" || tail[0] != "bad thing" {
		t.Errorf("tail has %d lines, first %q, last %q; want %d ending with the last line", len(tail), tail[0], tail[len(tail)-1], tailLines)
	}
	findings, dropped, _ := w.snapshot()
	if len(findings) != maxLogFindings || dropped != 7 {
		t.Errorf("%d findings kept, %d dropped; want %d and 7", len(findings), dropped, maxLogFindings)
	}
	for _, l := range strings.Split(file.String(), "\n") {
		if len(l) > maxLineBytes {
			t.Fatalf("the log file has a line of %d bytes, more than %d", len(l), maxLineBytes)
		}
	}
	if !strings.Contains(file.String(), "line 39\n"+strings.Repeat("x", 100)) {
		t.Error("the long line is not in the log after line 39")
	}
}

func TestLogWatcherNote(t *testing.T) {
	w, file, _ := newTestWatcher(t, profile.SpawnLogs{FailOn: []string{"exited"}})
	w.started()
	w.note("node 2 (pid 42) exited: exit status 1")
	if f, _, _ := w.snapshot(); len(f) != 0 || len(w.lastLines()) != 0 {
		t.Errorf("a note of the runner was judged or kept in the tail: %+v %q", f, w.lastLines())
	}
	if !strings.Contains(file.String(), "--- chronik-e2e 12:00:00.000: node 2 (pid 42) exited: exit status 1 ---") {
		t.Errorf("log = %q", file.String())
	}
}
