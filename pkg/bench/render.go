package bench

import (
	"fmt"
	"io"
	"strings"
)

// Targets the runner's medians are held to (issue 14): produce at least 0.8×
// kcat's and 2× bare sarama's; consume at least kcat's.
const (
	TargetVsKcat   = 0.8
	TargetVsSarama = 2.0
	TargetConsume  = 1.0
)

// Render writes r as a table: every side's rounds and median, produce and
// consume, then each runner side's ratios to bare sarama and to kcat.
func (r *Result) Render(w io.Writer) {
	fmt.Fprintf(w, "\n%d messages × %d B, acks=all, %d partitions, replication factor 3; medians of %d round(s)\n\n",
		r.Messages, r.ValueBytes, r.Partitions, r.rounds())
	nw := len("side")
	for _, s := range r.Sides {
		nw = max(nw, len(s.Name))
	}
	fmt.Fprintf(w, "  %-*s  %12s  %12s   %s\n", nw, "side", "produce", "consume", "produce msg/s, each round")
	for _, s := range r.Sides {
		rounds := make([]string, len(s.Produce))
		for i, x := range s.Produce {
			rounds[i] = rate(x)
		}
		fmt.Fprintf(w, "  %-*s  %12s  %12s   %s\n", nw, s.Name, rate(Median(s.Produce)), rate(Median(s.Consume)), strings.Join(rounds, "  "))
	}
	bare, kcat := r.side("sarama"), r.side("kcat")
	fmt.Fprintf(w, "\n  %-*s  %14s  %14s  %14s\n", nw, "ratios of the medians", "produce÷sarama", "produce÷kcat", "consume÷kcat")
	for _, s := range r.Sides {
		if !s.runner {
			continue
		}
		fmt.Fprintf(w, "  %-*s  %14s  %14s  %14s\n", nw, s.Name,
			ratio(Median(s.Produce), bare, false, TargetVsSarama), ratio(Median(s.Produce), kcat, false, TargetVsKcat), ratio(Median(s.Consume), kcat, true, TargetConsume))
	}
	fmt.Fprintf(w, "\n  targets: produce ≥ %.1f× bare sarama and ≥ %.1f× kcat, consume ≥ %.1f× kcat (✓ met, ✗ not)\n", TargetVsSarama, TargetVsKcat, TargetConsume)
	if r.Load != "" {
		fmt.Fprintf(w, "  load average at the end: %s (other work on the machine lowers every figure)\n", r.Load)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// side returns the side whose name starts with prefix (nil: none).
func (r *Result) side(prefix string) *Side {
	for _, s := range r.Sides {
		if strings.HasPrefix(s.Name, prefix) {
			return s
		}
	}
	return nil
}

func (r *Result) rounds() int {
	if len(r.Sides) == 0 {
		return 0
	}
	return len(r.Sides[0].Produce)
}

// ratio is x over of's median (produce, or consume), marked against target.
func ratio(x float64, of *Side, consume bool, target float64) string {
	if of == nil {
		return "-"
	}
	base := Median(of.Produce)
	if consume {
		base = Median(of.Consume)
	}
	if base == 0 {
		return "-"
	}
	mark := "✓"
	if x/base < target {
		mark = "✗"
	}
	return fmt.Sprintf("%.2f× %s", x/base, mark)
}

// rate formats messages per second with thousands separators.
func rate(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
