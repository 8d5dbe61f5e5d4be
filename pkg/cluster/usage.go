package cluster

// Every spawned node's resource use is sampled through the run, from the
// system's own accounting of its process (/proc on Linux): resident memory,
// CPU time and open file descriptors. Chronik's scale regression guards a
// node that was OOM-killed while topics were created; the report shows each
// node's peak and mean and the gate reads node.max_rss_mb and its siblings.

import (
	"sync"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// usageInterval is the time between two samples of a node.
const usageInterval = time.Second

// maxSeries bounds the samples kept per node: past it, every other sample
// is dropped and the spacing doubles. Peaks and means cover every sample.
const maxSeries = 600

// minCPUWindow is the shortest time CPU use is averaged over: the kernel
// counts CPU time in ticks of 10 ms, so over a shorter window (a sample
// delayed on a busy machine, the last one taken at stop) one tick more or
// less would read as hundreds of percent.
const minCPUWindow = 500 * time.Millisecond

// procSample is one reading of a process: resident bytes, CPU time used
// since it started, open file descriptors.
type procSample struct {
	rss  int64
	cpu  time.Duration
	fds  int
	read time.Time
}

// nodeUsage accumulates one node's samples.
type nodeUsage struct {
	start     time.Time
	prev      *procSample
	prevPID   int
	stride    int // keep one sample in stride in the series
	skipped   int
	n         int
	sumRSS    float64
	sumCPU    float64
	sumFDs    float64
	cpuN      int
	u         report.NodeUsage
	seriesCap int
}

// add records sample s of the node's process pid.
func (a *nodeUsage) add(pid int, s procSample) {
	cpuPct := -1.0 // unknown for the first sample of a process, or too soon after the last
	switch {
	case a.prev == nil || a.prevPID != pid:
		a.prev, a.prevPID = &s, pid
	case s.read.Sub(a.prev.read) >= minCPUWindow:
		cpuPct = max(100*float64(s.cpu-a.prev.cpu)/float64(s.read.Sub(a.prev.read)), 0)
		a.prev = &s
	}
	a.record(s.read, float64(s.rss)/1e6, cpuPct, s.fds)
}

// record adds one sample read at at: resident memory in MB, CPU in percent
// of one core (below 0: unknown) and open file descriptors.
func (a *nodeUsage) record(at time.Time, rssMB, cpuPct float64, fds int) {
	if a.start.IsZero() {
		a.start, a.stride = at, 1
	}
	a.n++
	a.u.Samples = a.n
	a.sumRSS += rssMB
	a.sumFDs += float64(fds)
	a.u.PeakRSSMB = max(a.u.PeakRSSMB, rssMB)
	a.u.PeakFDs = max(a.u.PeakFDs, fds)
	a.u.MeanRSSMB, a.u.MeanFDs = a.sumRSS/float64(a.n), a.sumFDs/float64(a.n)
	if cpuPct >= 0 {
		a.cpuN++
		a.sumCPU += cpuPct
		a.u.PeakCPUPct = max(a.u.PeakCPUPct, cpuPct)
		a.u.MeanCPUPct = a.sumCPU / float64(a.cpuN)
	} else {
		cpuPct = 0
	}
	if a.skipped++; a.skipped < a.stride {
		return
	}
	a.skipped = 0
	a.u.Series = append(a.u.Series, report.UsageSample{AtS: at.Sub(a.start).Seconds(), RSSMB: rssMB, CPUPct: cpuPct, FDs: fds})
	if len(a.u.Series) >= a.seriesCap {
		thin := a.u.Series[:0]
		for i := 0; i < len(a.u.Series); i += 2 {
			thin = append(thin, a.u.Series[i])
		}
		a.u.Series = thin
		a.stride *= 2
	}
}

// usageSampler samples the running process of every node every interval
// until stop.
type usageSampler struct {
	nodes    []*spawnNode
	interval time.Duration
	read     func(pid int) (procSample, error)

	mu    sync.Mutex
	usage []*nodeUsage

	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

// startUsageSampler starts sampling nodes, or returns nil where this system
// cannot read a process's use (usageUnavailable says why).
func startUsageSampler(nodes []*spawnNode, interval time.Duration) *usageSampler {
	if usageUnavailable != "" {
		return nil
	}
	s := &usageSampler{nodes: nodes, interval: interval, read: readProc, quit: make(chan struct{}), done: make(chan struct{})}
	for range nodes {
		s.usage = append(s.usage, &nodeUsage{seriesCap: maxSeries})
	}
	go s.run()
	return s
}

func (s *usageSampler) run() {
	defer close(s.done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.sample()
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
	}
}

// sample reads every running node once; a process that just exited is skipped.
func (s *usageSampler) sample() {
	if s == nil {
		return
	}
	for i, n := range s.nodes {
		p := n.running()
		if p == nil {
			continue
		}
		ps, err := s.read(p.pid)
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.usage[i].add(p.pid, ps)
		s.mu.Unlock()
	}
}

// stop ends the sampling, after one last sample; it may be called more than once.
func (s *usageSampler) stop() {
	if s == nil {
		return
	}
	s.stopOnce.Do(func() { close(s.quit) })
	<-s.done
}

// report returns what was sampled so far.
func (s *usageSampler) report() *report.Resources {
	if s == nil {
		return &report.Resources{Unavailable: usageUnavailable, Nodes: []report.NodeUsage{}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &report.Resources{IntervalS: s.interval.Seconds(), Source: "/proc", Nodes: make([]report.NodeUsage, len(s.nodes))}
	for i, n := range s.nodes {
		u := s.usage[i].u
		u.Node = n.id
		u.Series = append([]report.UsageSample{}, u.Series...)
		r.Nodes[i] = u
	}
	return r
}
