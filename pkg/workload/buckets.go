package workload

import "time"

// Bucket is one bar of a coarse latency histogram: the observations above
// the previous bucket's bound and at most Le.
type Bucket struct {
	Le    time.Duration
	Count int64
}

// bucketBounds are the upper bounds of the coarse buckets, log-spaced in
// 1-2-5 steps from 50 µs up to the histogram's 10-minute ceiling.
var bucketBounds = func() []time.Duration {
	var out []time.Duration
	for decade := 10 * time.Microsecond; decade <= 100*time.Second; decade *= 10 {
		for _, m := range []time.Duration{1, 2, 5} {
			if b := m * decade; b >= 50*time.Microsecond {
				out = append(out, b)
			}
		}
	}
	return append(out, 10*time.Minute)
}()

// Buckets returns the observations in log-spaced buckets (…, 0.5 ms, 1 ms,
// 2 ms, 5 ms, 10 ms, …), from the first non-empty bucket to the last, for a
// chart: a few numbers whatever the message count.
func (l *Latency) Buckets() []Bucket {
	counts := make([]int64, len(bucketBounds))
	for _, bar := range l.h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		d := time.Duration(bar.From) * time.Microsecond
		i := 0
		for i < len(bucketBounds)-1 && d > bucketBounds[i] {
			i++
		}
		counts[i] += bar.Count
	}
	first, last := -1, -1
	for i, c := range counts {
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return nil
	}
	out := make([]Bucket, 0, last-first+1)
	for i := first; i <= last; i++ {
		out = append(out, Bucket{Le: bucketBounds[i], Count: counts[i]})
	}
	return out
}
