package cluster

// An attached cluster's nodes are not the runner's processes: their
// resource use comes from faults.hooks.stats, a command run for every node
// every faults.hooks.stats_interval that prints the node's figures as
// key=value words (rss_mb= or rss_bytes=, cpu_pct=, fds=; see ParseStats).
// The figures feed the same report section and gate metrics as a spawned
// node's /proc samples.

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// Stats is one reading a stats hook printed; a figure it did not print is
// not Has.
type Stats struct {
	RSSMB, CPUPct float64
	FDs           int
	Has           map[string]bool // report.FigureRSS, FigureCPU, FigureFDs
}

// ParseStats reads a stats hook's output: whitespace-separated key=value
// words anywhere in it, rss_mb (MB, 10^6 bytes) or rss_bytes, cpu_pct
// (percent of one core) and fds; other words are ignored, so a command may
// print a header or labels. Output with none of the keys is an error.
func ParseStats(out string) (Stats, error) {
	st := Stats{Has: map[string]bool{}}
	for _, w := range strings.Fields(out) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		bad := err != nil || !(f >= 0) || math.IsInf(f, 0) // NaN and Inf parse, but pass every threshold or break the JSON
		switch k {
		case "rss_mb", "rss_bytes":
			if bad {
				return st, fmt.Errorf("%s=%s is not a number of %s", k, v, strings.TrimPrefix(k, "rss_"))
			}
			if k == "rss_bytes" {
				f /= 1e6
			}
			if f > maxFigure {
				return st, beyond(k, v, "MB")
			}
			st.RSSMB, st.Has[report.FigureRSS] = f, true
		case "cpu_pct":
			if bad {
				return st, fmt.Errorf("cpu_pct=%s is not a percentage", v)
			}
			if f > maxFigure {
				return st, beyond(k, v, "%")
			}
			st.CPUPct, st.Has[report.FigureCPU] = f, true
		case "fds":
			if bad || f != float64(int(f)) {
				return st, fmt.Errorf("fds=%s is not a count", v)
			}
			if f > maxFigure {
				return st, beyond(k, v, "descriptors")
			}
			st.FDs, st.Has[report.FigureFDs] = int(f), true
		}
	}
	if len(st.Has) == 0 {
		return st, fmt.Errorf("no figures in its output %q: print rss_mb=… (or rss_bytes=…), cpu_pct=… and fds=…", clip(out, 200))
	}
	return st, nil
}

// maxFigure bounds every figure (MB, percent, descriptors): beyond it a
// figure is no node's, and summing a few for a mean could reach +Inf,
// which the JSON report cannot hold.
const maxFigure = 1e12

// beyond says that k=v is larger than any node's figure.
func beyond(k, v, unit string) error {
	return fmt.Errorf("%s=%s is beyond any node (at most %g %s)", k, v, maxFigure, unit)
}

// clip shortens s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// statsSampler runs a stats hook for every node every interval until stop.
type statsSampler struct {
	tmpl     *template.Template
	text     string
	timeout  time.Duration
	interval time.Duration
	nodes    []report.Broker

	mu       sync.Mutex
	usage    []*nodeUsage
	given    map[string]bool // the figures any sample gave
	failed   int
	firstErr string

	cancel context.CancelFunc
	done   chan struct{}
}

// startStatsSampler samples nodes with the hook once, before it returns (so
// that every run has a sample of every node, however short; ctx bounds it),
// then every interval until stop is called.
func startStatsSampler(ctx context.Context, tmpl *template.Template, text string, timeout, interval time.Duration, nodes []report.Broker) *statsSampler {
	own, cancel := context.WithCancel(context.Background())
	s := &statsSampler{tmpl: tmpl, text: text, timeout: timeout, interval: interval, nodes: nodes,
		given: map[string]bool{}, cancel: cancel, done: make(chan struct{})}
	for range nodes {
		s.usage = append(s.usage, &nodeUsage{seriesCap: maxSeries})
	}
	first, cancelFirst := context.WithCancel(own)
	stopFirst := context.AfterFunc(ctx, cancelFirst)
	s.sample(first)
	stopFirst()
	cancelFirst()
	go s.run(own)
	return s
}

func (s *statsSampler) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.sample(ctx)
	}
}

// sample runs the hook for every node at once and records what each printed.
func (s *statsSampler) sample(ctx context.Context) {
	var wg sync.WaitGroup
	for i, n := range s.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.one(ctx, n)
			if ctx.Err() != nil {
				return // stopped: not the hook's failure
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil {
				s.failed++
				if s.firstErr == "" {
					s.firstErr = fmt.Sprintf("node %d: %v", n.ID, err)
				}
				return
			}
			cpu := -1.0
			if st.Has[report.FigureCPU] {
				cpu = st.CPUPct
			}
			for f := range st.Has {
				s.given[f] = true
			}
			s.usage[i].record(time.Now(), st.RSSMB, cpu, st.FDs)
		}()
	}
	wg.Wait()
}

// one runs the hook for node n and parses what it printed.
func (s *statsSampler) one(ctx context.Context, n report.Broker) (Stats, error) {
	cmdline, out, err := runNodeHook(ctx, s.tmpl, s.timeout, "stats", Node{ID: n.ID, Addr: n.Addr})
	if err != nil {
		return Stats{}, err
	}
	st, err := ParseStats(out)
	if err != nil {
		return st, fmt.Errorf("`%s`: %w", cmdline, err)
	}
	return st, nil
}

// stop ends the sampling (a hook running is killed); it may be called more than once.
func (s *statsSampler) stop() {
	if s == nil {
		return
	}
	s.cancel()
	<-s.done
}

// report returns what was sampled so far.
func (s *statsSampler) report() *report.Resources {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &report.Resources{IntervalS: s.interval.Seconds(), Source: "faults.hooks.stats: " + clip(s.text, 120),
		FailedSamples: s.failed, FirstFailure: s.firstErr, Nodes: make([]report.NodeUsage, len(s.nodes))}
	for _, f := range []string{report.FigureRSS, report.FigureCPU, report.FigureFDs} {
		if !s.given[f] {
			r.Missing = append(r.Missing, f)
		}
	}
	if len(s.given) == 0 {
		r.Missing = nil
		r.Unavailable = "faults.hooks.stats printed no figures"
		if s.firstErr != "" {
			r.Unavailable += ": " + s.firstErr
		}
	}
	for i, n := range s.nodes {
		u := s.usage[i].u
		u.Node = int(n.ID)
		u.Series = slices.Clone(u.Series)
		if u.Series == nil {
			u.Series = []report.UsageSample{}
		}
		r.Nodes[i] = u
	}
	return r
}
