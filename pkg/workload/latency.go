package workload

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency is a latency histogram in microseconds, from 1 µs to 10 minutes with
// three significant digits: a fixed size whatever the message count.
type Latency struct {
	h *hdrhistogram.Histogram
}

// NewLatency returns an empty latency histogram.
func NewLatency() *Latency {
	return &Latency{h: hdrhistogram.New(1, int64(10*time.Minute/time.Microsecond), 3)}
}

// Record adds one observation; values beyond the range are clamped to it.
func (l *Latency) Record(d time.Duration) {
	us := d.Microseconds()
	if us < 1 {
		us = 1
	}
	if max := l.h.HighestTrackableValue(); us > max {
		us = max
	}
	_ = l.h.RecordValue(us)
}

// Count is the number of observations.
func (l *Latency) Count() int64 { return l.h.TotalCount() }

// Percentile returns the value at percentile p (0-100).
func (l *Latency) Percentile(p float64) time.Duration {
	return time.Duration(l.h.ValueAtPercentile(p)) * time.Microsecond
}

// Max returns the largest observation.
func (l *Latency) Max() time.Duration { return time.Duration(l.h.Max()) * time.Microsecond }

// Mean returns the mean observation.
func (l *Latency) Mean() time.Duration { return time.Duration(l.h.Mean() * float64(time.Microsecond)) }
