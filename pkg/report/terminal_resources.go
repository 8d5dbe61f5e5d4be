package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// sparkWidth is the most columns a node's memory chart takes.
const sparkWidth = 48

// sparks are the chart's levels, lowest first.
var sparks = []rune("▁▂▃▄▅▆▇█")

// resources writes each spawned node's sampled resource use: peaks and
// means in a table, and its resident memory over the run as a small chart.
func (p *printer) resources(c Cluster) {
	r := c.Resources
	if r == nil {
		return
	}
	if r.Unavailable != "" {
		p.line("  ", p.st.label.Render("resources"), "  ", r.Unavailable)
		return
	}
	nodes := slices.Clone(r.Nodes)
	slices.SortFunc(nodes, func(a, b NodeUsage) int { return a.Node - b.Node })
	source := r.Source
	if source == "" {
		source = "/proc"
	}
	p.line("  ", p.st.label.Render("resources"), p.st.faint.Render(fmt.Sprintf("  sampled every %s from %s", seconds(r.IntervalS), source)))
	if len(r.Missing) > 0 {
		p.line(p.st.faint.Render("  not measured (the source gives none): " + strings.Join(r.Missing, ", ")))
	}
	if r.FailedSamples > 0 {
		p.wrapped("  ", "", fmt.Sprintf("%d sample(s) failed; the first: %s", r.FailedSamples, r.FirstFailure), p.st.fail)
	}
	p.line(p.st.faint.Render(fmt.Sprintf("  %4s  %9s  %9s  %8s  %8s  %8s", "node", "rss peak", "rss mean", "cpu peak", "cpu mean", "fds peak")))
	// figure renders a figure the source gave, "-" for one it did not.
	figure := func(name, v string) string {
		if !r.Has(name) {
			return "-"
		}
		return v
	}
	for _, n := range nodes {
		if n.Samples == 0 {
			p.line(fmt.Sprintf("  %4d  not sampled: the node was never running at a sample", n.Node))
			continue
		}
		p.line(fmt.Sprintf("  %4d  %9s  %9s  %8s  %8s  %8s", n.Node, figure(FigureRSS, memMB(n.PeakRSSMB)), figure(FigureRSS, memMB(n.MeanRSSMB)),
			figure(FigureCPU, percent(n.PeakCPUPct)), figure(FigureCPU, percent(n.MeanCPUPct)), figure(FigureFDs, strconv.Itoa(n.PeakFDs))))
	}
	if !r.Has(FigureRSS) {
		return // no memory to chart
	}
	var end float64
	for _, n := range nodes {
		if len(n.Series) > 0 {
			end = max(end, n.Series[len(n.Series)-1].AtS)
		}
	}
	p.line(p.st.faint.Render(fmt.Sprintf("  resident memory over %s, each node's row up to its peak", seconds(end))))
	for _, n := range nodes {
		if len(n.Series) == 0 {
			continue
		}
		p.line(fmt.Sprintf("  %4d  %s  %s", n.Node, spark(n.Series, end), memMB(n.PeakRSSMB)))
	}
}

// spark charts the series' resident memory over 0..end, one column per
// slice of time (the highest sample in it), scaled to the series' peak;
// a column no sample falls in is blank.
func spark(series []UsageSample, end float64) string {
	cols := min(sparkWidth, len(series))
	if cols == 0 {
		return ""
	}
	level := make([]float64, cols)
	seen := make([]bool, cols)
	var peak float64
	for _, s := range series {
		i := cols - 1
		if end > 0 {
			i = min(cols-1, int(s.AtS/end*float64(cols)))
		}
		level[i] = max(level[i], s.RSSMB)
		seen[i] = true
		peak = max(peak, s.RSSMB)
	}
	var b strings.Builder
	for i, v := range level {
		switch {
		case !seen[i]:
			b.WriteRune(' ')
		case peak <= 0:
			b.WriteRune(sparks[0])
		default:
			b.WriteRune(sparks[min(len(sparks)-1, int(v/peak*float64(len(sparks)-1)+0.5))])
		}
	}
	return b.String()
}

// memMB formats a size in MB: "412 MB", "6,021 MB", "3.4 MB".
func memMB(mb float64) string {
	if mb < 10 {
		return strconv.FormatFloat(mb, 'f', 1, 64) + " MB"
	}
	return commas(int64(mb+0.5)) + " MB"
}

// percent formats a share: "87%", "2.5%".
func percent(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64) + "%"
	}
	return commas(int64(v+0.5)) + "%"
}
