package workload

import (
	"fmt"
	"sync"
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

// Merge adds every observation of o to l.
func (l *Latency) Merge(o *Latency) { l.h.Merge(o.h) }

// SharedLatency is a latency histogram that many goroutines record into, each
// through its own Recorder, which takes the lock once per recorderSize
// observations rather than once per message.
type SharedLatency struct {
	mu sync.Mutex
	l  *Latency
}

// NewSharedLatency returns an empty shared histogram.
func NewSharedLatency() *SharedLatency { return &SharedLatency{l: NewLatency()} }

// Recorder returns a recorder for one goroutine; Flush it when done.
func (s *SharedLatency) Recorder() *Recorder { return &Recorder{s: s} }

// Latency returns a copy of the histogram as it stands: what the Recorders
// have flushed. A copy, because a Recorder may still flush into it (a
// producer closing after its scenario's deadline) while the copy is read.
func (s *SharedLatency) Latency() *Latency {
	c := NewLatency()
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Merge(s.l)
	return c
}

// recorderSize is how many observations a Recorder holds before it adds them.
const recorderSize = 256

// Recorder buffers one goroutine's observations for a SharedLatency.
type Recorder struct {
	s   *SharedLatency
	n   int
	buf [recorderSize]time.Duration
}

// Record adds one observation.
func (r *Recorder) Record(d time.Duration) {
	r.buf[r.n] = d
	r.n++
	if r.n == recorderSize {
		r.Flush()
	}
}

// Flush adds the buffered observations to the shared histogram.
func (r *Recorder) Flush() {
	if r.n == 0 {
		return
	}
	r.s.mu.Lock()
	for _, d := range r.buf[:r.n] {
		r.s.l.Record(d)
	}
	r.s.mu.Unlock()
	r.n = 0
}

// Encode returns the histogram in HdrHistogram's compressed V2 encoding,
// base64: every count, so that decoded and merged histograms answer
// percentiles exactly as one histogram fed every observation would.
func (l *Latency) Encode() (string, error) {
	b, err := l.h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode latency histogram: %w", err)
	}
	return string(b), nil
}

// DecodeLatency reads a histogram Encode wrote.
func DecodeLatency(s string) (*Latency, error) {
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode latency histogram: %w", err)
	}
	want := NewLatency().h
	if h.LowestTrackableValue() != want.LowestTrackableValue() || h.HighestTrackableValue() != want.HighestTrackableValue() || h.SignificantFigures() != want.SignificantFigures() {
		return nil, fmt.Errorf("decode latency histogram: range %d..%d µs with %d significant digits, want %d..%d with %d",
			h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), want.LowestTrackableValue(), want.HighestTrackableValue(), want.SignificantFigures())
	}
	return &Latency{h: h}, nil
}
