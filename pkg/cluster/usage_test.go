package cluster

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// TestNodeUsageAdd: peaks and means cover every sample, CPU is the CPU time
// between two samples of one process over the wall time between them (none
// for a process's first sample), and a long series is thinned, not grown.
func TestNodeUsageAdd(t *testing.T) {
	a := &nodeUsage{seriesCap: 4}
	t0 := time.Unix(1000, 0)
	a.add(10, procSample{rss: 100e6, cpu: 0, fds: 10, read: t0})
	a.add(10, procSample{rss: 300e6, cpu: 500 * time.Millisecond, fds: 30, read: t0.Add(time.Second)})      // 50%
	a.add(11, procSample{rss: 200e6, cpu: 5 * time.Second, fds: 20, read: t0.Add(2 * time.Second)})         // a new process: no CPU figure
	a.add(11, procSample{rss: 200e6, cpu: 6500 * time.Millisecond, fds: 20, read: t0.Add(3 * time.Second)}) // 150%
	u := a.u
	if u.Samples != 4 || u.PeakRSSMB != 300 || u.MeanRSSMB != 200 || u.PeakFDs != 30 || u.MeanFDs != 20 {
		t.Errorf("usage = %+v", u)
	}
	if u.PeakCPUPct != 150 || u.MeanCPUPct != 100 {
		t.Errorf("cpu peak %v mean %v, want 150 and 100 (two figures: 50%% and 150%%)", u.PeakCPUPct, u.MeanCPUPct)
	}
	if len(u.Series) != 2 || u.Series[0].AtS != 0 || u.Series[1].AtS != 2 || a.stride != 2 {
		t.Errorf("series %+v (stride %d), want the samples at 0s and 2s kept, one in two from now on", u.Series, a.stride)
	}
	for i := 4; i < 100; i++ {
		a.add(11, procSample{rss: 1e6, read: t0.Add(time.Duration(i) * time.Second)})
	}
	if len(a.u.Series) >= 4 || a.u.Samples != 100 {
		t.Errorf("after 100 samples: series of %d (cap 4), %d samples", len(a.u.Series), a.u.Samples)
	}
}

// TestNodeUsageShortWindow: a sample soon after the last gives no CPU figure
// (one 10 ms tick over 20 ms would read 50%, over 5 ms 200%); the next one
// is averaged from the last sample a figure was taken at.
func TestNodeUsageShortWindow(t *testing.T) {
	a := &nodeUsage{seriesCap: 10}
	t0 := time.Unix(1000, 0)
	a.add(10, procSample{rss: 1e6, cpu: 0, read: t0})
	a.add(10, procSample{rss: 1e6, cpu: 10 * time.Millisecond, read: t0.Add(5 * time.Millisecond)})
	if a.u.PeakCPUPct != 0 || a.u.MeanCPUPct != 0 {
		t.Fatalf("after a 5 ms window: cpu peak %v mean %v, want no figure", a.u.PeakCPUPct, a.u.MeanCPUPct)
	}
	a.add(10, procSample{rss: 1e6, cpu: 100 * time.Millisecond, read: t0.Add(time.Second)})
	if a.u.PeakCPUPct != 10 || a.u.MeanCPUPct != 10 {
		t.Errorf("cpu peak %v mean %v, want 10%% (100 ms of CPU over the second since the first sample)", a.u.PeakCPUPct, a.u.MeanCPUPct)
	}
}

// TestReadProc reads this test's own process.
func TestReadProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, err := readProc(os.Getpid()); err == nil {
			t.Error("readProc succeeded without /proc")
		}
		t.Skip(usageUnavailable)
	}
	keep := make([]byte, 64<<20)
	for i := 0; i < len(keep); i += 4096 {
		keep[i] = 1
	}
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.rss < 64<<20 || s.fds < 3 || s.cpu <= 0 {
		t.Errorf("own process: rss %d bytes (64 MiB touched), %d fds, cpu %s", s.rss, s.fds, s.cpu)
	}
	runtime.KeepAlive(keep)
	if _, err := readProc(1 << 30); err == nil {
		t.Error("readProc of a pid that does not exist succeeded")
	}
}
