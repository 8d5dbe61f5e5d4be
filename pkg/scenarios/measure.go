package scenarios

// Turning measurements into the report's numbers and words.

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// latencyReport turns a histogram into the report's percentiles in milliseconds.
func latencyReport(h *workload.Latency) report.Latency { return report.LatencyOf(h) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// distribution computes the variance of messages per partition and the
// largest deviation from the mean in percent.
func distribution(counts []int64) report.Distribution { return report.DistributionOf(counts) }

// byCount renders reason counts, most frequent first: "3 × REQUEST_TIMED_OUT; 1 × …".
func byCount(m map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var list []kv
	for k, v := range m {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v || list[i].v == list[j].v && list[i].k < list[j].k })
	var parts []string
	for _, x := range list {
		parts = append(parts, fmt.Sprintf("%d × %s", x.v, x.k))
	}
	return strings.Join(parts, "; ")
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}
