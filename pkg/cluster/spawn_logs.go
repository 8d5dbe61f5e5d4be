package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// Bounds of what the log watcher keeps in memory.
const (
	tailLines       = 30       // lines of a node's log a failure reports
	maxLineBytes    = 16 << 10 // longer lines are cut (the log file gets them cut too)
	maxLogFindings  = 100      // failing findings kept per node; the rest are counted
	maxGraceFinding = 20       // matches within the start-up grace kept per node
)

// logRules are a profile's logs patterns, compiled.
type logRules struct {
	failOn    []*regexp.Regexp
	ignore    []*regexp.Regexp
	countName []string
	count     []*regexp.Regexp
	grace     time.Duration
}

// compileLogRules compiles spec's logs section (validated already).
func compileLogRules(spec profile.SpawnLogs) (*logRules, error) {
	r := &logRules{grace: spec.Grace.Duration}
	for _, s := range spec.FailOn {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("cluster.spawn.logs.fail_on %q: %w", s, err)
		}
		r.failOn = append(r.failOn, re)
	}
	for _, s := range spec.Ignore {
		re, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("cluster.spawn.logs.ignore %q: %w", s, err)
		}
		r.ignore = append(r.ignore, re)
	}
	names := make([]string, 0, len(spec.Count))
	for name := range spec.Count {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		re, err := regexp.Compile(spec.Count[name])
		if err != nil {
			return nil, fmt.Errorf("cluster.spawn.logs.count.%s %q: %w", name, spec.Count[name], err)
		}
		r.countName = append(r.countName, name)
		r.count = append(r.count, re)
	}
	return r, nil
}

// logWatcher copies one node's output into its log file without ANSI
// escapes, keeps the last lines for the report, and judges every line
// against the profile's logs patterns. One watcher serves every process
// run of its node (a restarted node appends to the same log).
type logWatcher struct {
	node  int
	rules *logRules
	now   func() time.Time

	mu         sync.Mutex
	file       io.Writer
	tail       [tailLines]string
	tailLen    int // lines in tail
	tailNext   int // where the next line goes
	findings   []report.LogFinding
	inGrace    int // findings within the grace
	dropped    int
	counts     map[string]int64
	graceUntil time.Time
	judging    bool
}

func newLogWatcher(node int, file io.Writer, rules *logRules) *logWatcher {
	w := &logWatcher{node: node, file: file, rules: rules, now: time.Now, counts: map[string]int64{}}
	for _, name := range rules.countName {
		w.counts[name] = 0
	}
	return w
}

// started tells the watcher a process of its node started: lines within
// the grace from now are noted, not failed.
func (w *logWatcher) started() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.graceUntil = w.now().Add(w.rules.grace)
	w.judging = true
}

// stopJudging makes later lines go to the log only: a node being stopped
// on purpose may say things that are not faults.
func (w *logWatcher) stopJudging() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.judging = false
}

// note writes a line of the runner's own into the log (not judged, not in the tail).
func (w *logWatcher) note(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Fprintf(w.file, "--- chronik-e2e %s: %s ---\n", w.now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// follow reads r line by line until EOF or a read error. It never stops
// reading early, so a node never blocks on a full pipe.
func (w *logWatcher) follow(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than the reader's buffer, so far
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) < maxLineBytes {
				long = append(long, chunk...)
			}
			continue
		}
		line := chunk
		if long != nil {
			long = append(long, chunk...)
			line, long = long, nil
		}
		if len(line) > 0 {
			w.line(line)
		}
		if err != nil {
			return
		}
	}
}

// line handles one line of output (with or without its newline).
func (w *logWatcher) line(b []byte) {
	if len(b) > maxLineBytes {
		b = b[:maxLineBytes]
	}
	s := ansi.Strip(strings.TrimRight(string(b), "\r\n"))
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = io.WriteString(w.file, s+"\n")
	w.tail[w.tailNext] = s
	w.tailNext = (w.tailNext + 1) % tailLines
	w.tailLen = min(w.tailLen+1, tailLines)

	for i, re := range w.rules.count {
		if re.MatchString(s) {
			w.counts[w.rules.countName[i]]++
		}
	}
	if !w.judging {
		return
	}
	for _, re := range w.rules.ignore {
		if re.MatchString(s) {
			return
		}
	}
	for _, re := range w.rules.failOn {
		if !re.MatchString(s) {
			continue
		}
		grace := now.Before(w.graceUntil)
		switch {
		case grace && w.inGrace >= maxGraceFinding:
		case grace:
			w.inGrace++
			w.findings = append(w.findings, report.LogFinding{Node: w.node, Time: now, Line: s, Pattern: re.String(), InGrace: true})
		case len(w.findings)-w.inGrace >= maxLogFindings:
			w.dropped++
		default:
			w.findings = append(w.findings, report.LogFinding{Node: w.node, Time: now, Line: s, Pattern: re.String()})
		}
		return
	}
}

// lastLines returns the last lines of the node's output, oldest first.
func (w *logWatcher) lastLines() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, w.tailLen)
	for i := range w.tailLen {
		out = append(out, w.tail[(w.tailNext-w.tailLen+i+tailLines)%tailLines])
	}
	return out
}

// snapshot returns the findings, how many failing ones were dropped, and the counts.
func (w *logWatcher) snapshot() ([]report.LogFinding, int, map[string]int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	counts := make(map[string]int64, len(w.counts))
	for k, v := range w.counts {
		counts[k] = v
	}
	return append([]report.LogFinding(nil), w.findings...), w.dropped, counts
}

// openLog creates a node's log file.
func openLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}
