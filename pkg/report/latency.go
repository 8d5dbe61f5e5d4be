package report

import (
	"math"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// LatencyOf turns a histogram into the report's percentiles in
// milliseconds, its chart buckets and the histogram itself (HDR), from
// which `report merge` merges shards' latencies exactly.
func LatencyOf(h *workload.Latency) Latency {
	l := Latency{
		P50:  ms(h.Percentile(50)),
		P99:  ms(h.Percentile(99)),
		P999: ms(h.Percentile(99.9)),
		Max:  ms(h.Max()),
		Mean: ms(h.Mean()),
	}
	for _, b := range h.Buckets() {
		l.Histogram = append(l.Histogram, Bucket{LeMs: float64(b.Le) / float64(time.Millisecond), Count: b.Count})
	}
	if h.Count() > 0 {
		l.HDR, _ = h.Encode() // cannot fail: the histogram's range is fixed
	}
	return l
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// DistributionOf computes the variance of messages per partition and the
// largest deviation from the mean in percent.
func DistributionOf(counts []int64) (dist Distribution) {
	if len(counts) == 0 {
		return dist
	}
	var sum float64
	for _, c := range counts {
		sum += float64(c)
	}
	mean := sum / float64(len(counts))
	for _, c := range counts {
		dev := float64(c) - mean
		dist.Variance += dev * dev
		if mean > 0 {
			dist.MaxDeviationPct = math.Max(dist.MaxDeviationPct, math.Abs(dev)/mean*100)
		}
	}
	dist.Variance /= float64(len(counts))
	return dist
}
