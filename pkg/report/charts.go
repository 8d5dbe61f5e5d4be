package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// histBar is the number of cells of the widest latency histogram bar.
const histBar = 30

// FormatValue formats a metric value in its unit for people: "8.62 ms",
// "107,206 msg/s", "0.12s", "2.0%", "1,000 messages".
func FormatValue(v float64, unit string) string {
	switch unit {
	case "ms":
		return millis(v)
	case "s":
		return seconds(v)
	case "msg/s":
		return rate(v) + " msg/s"
	case "MB/s":
		return megabytes(v) + " MB/s"
	case "%":
		return strconv.FormatFloat(v, 'f', 1, 64) + "%"
	case "", "messages²":
		return number(v)
	}
	return number(v) + " " + unit
}

// optValue formats an optional metric value; nil is "—".
func optValue(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	return FormatValue(*v, unit)
}

// deltaPct formats a change in percent: "+4.2%", "-92.1%", "—" without one.
func deltaPct(d *float64) string {
	if d == nil {
		return "—"
	}
	switch {
	case math.Abs(*d) < 0.05:
		return "0.0%"
	case math.Abs(*d) >= 1000:
		sign := "+"
		if *d < 0 {
			sign = "" // commas keeps the minus
		}
		return sign + commas(int64(math.Round(*d))) + "%"
	}
	return fmt.Sprintf("%+.1f%%", *d)
}

// bucketLabel names a histogram bucket by its upper bound: "≤ 0.5 ms", "≤ 2 s".
func bucketLabel(leMs float64) string {
	if leMs >= 1000 {
		return "≤ " + strconv.FormatFloat(leMs/1000, 'f', -1, 64) + " s"
	}
	return "≤ " + strconv.FormatFloat(leMs, 'f', -1, 64) + " ms"
}

// histogram writes the latency histogram as bars, one per bucket.
func (p *printer) histogram(bs []Bucket) {
	if len(bs) == 0 {
		return
	}
	var total, most int64
	lw, cw := 0, len("count")
	for _, b := range bs {
		total += b.Count
		most = max(most, b.Count)
		lw = max(lw, ansi.StringWidth(bucketLabel(b.LeMs)))
		cw = max(cw, len(commas(b.Count)))
	}
	if total == 0 {
		return
	}
	p.line(p.st.faint.Render(fmt.Sprintf("  %*s  %*s  %6s", lw, "latency", cw, "count", "share")))
	for _, b := range bs {
		label := bucketLabel(b.LeMs)
		p.line(fmt.Sprintf("  %s%s  %*s  %5.1f%%  ", strings.Repeat(" ", lw-ansi.StringWidth(label)), label,
			cw, commas(b.Count), float64(b.Count)/float64(total)*100), bar(b.Count, most, histBar))
	}
}

// gate writes the threshold table and the baseline comparison.
func (p *printer) gate(g *Gate) {
	if g == nil {
		return
	}
	if len(g.Thresholds) > 0 {
		p.section("Thresholds")
		p.thresholds(g.Thresholds)
	}
	if g.Baseline != nil {
		p.comparison(g.Baseline, "this run")
	}
}

// thresholds writes one line per threshold: ✓ or ✗, the expression, the value.
func (p *printer) thresholds(ts []Threshold) {
	ew := min(widest(ts, func(t Threshold) string { return t.Expr }), lineWidth/2)
	for _, t := range ts {
		mark, st := p.st.pass.Render("✓"), lipgloss.Style{}
		if !t.Passed {
			mark, st = p.st.fail.Render("✗"), p.st.bad
		}
		value := optValue(t.Value, t.Unit)
		if t.Reason != "" {
			value = t.Reason
		}
		expr := t.Expr
		if ansi.StringWidth(expr) > ew {
			expr = ansi.Truncate(expr, ew, "…")
		}
		p.wrapped("  "+mark+" ", pad(expr, ew)+"  ", value, st)
	}
}

// comparison writes a baseline comparison: the baseline, then one row per
// metric with both values, the change and whether it regressed.
func (p *printer) comparison(c *Comparison, current string) {
	p.section(fmt.Sprintf("Baseline comparison (tolerance %s%%)", number(c.TolerancePct)))
	var what []string
	if c.File != "" {
		what = append(what, c.File)
	}
	what = append(what, prefixed("profile ", c.Profile), prefixed("run ", c.RunID))
	if !c.StartedAt.IsZero() {
		what = append(what, c.StartedAt.Format("2006-01-02 15:04:05 MST"))
	}
	for i, l := range wrapItems(nonEmpty(what), " · ", lineWidth-len("  against ")) {
		lead := "  against "
		if i > 0 {
			lead = strings.Repeat(" ", len(lead))
		}
		p.line(lead, l)
	}
	if len(c.Metrics) == 0 {
		p.line("  no metric measured by both runs")
	} else {
		p.deltas(c, current)
	}
	for _, n := range c.Notes {
		p.wrapped("  ", "• ", n, lipgloss.Style{})
	}
	if regressed := c.regressed(); regressed > 0 {
		p.line("  ", p.st.fail.Render(fmt.Sprintf("✗ %d of %d metrics worse than the baseline by more than %s%%",
			regressed, len(c.Metrics), number(c.TolerancePct))))
	}
}

// deltas writes the rows of a comparison as an aligned table.
func (p *printer) deltas(c *Comparison, current string) {
	type row struct{ metric, base, value, change string }
	rows := make([]row, len(c.Metrics))
	mw, bw, vw, cw := len("metric"), len("baseline"), len(current), len("change")
	for i, d := range c.Metrics {
		rows[i] = row{d.Metric, FormatValue(d.Baseline, d.Unit), FormatValue(d.Value, d.Unit), deltaPct(d.DeltaPct)}
		mw, bw = max(mw, len(rows[i].metric)), max(bw, ansi.StringWidth(rows[i].base))
		vw, cw = max(vw, ansi.StringWidth(rows[i].value)), max(cw, len(rows[i].change))
	}
	p.line(p.st.faint.Render(fmt.Sprintf("    %-*s  %*s  %*s  %*s", mw, "metric", bw, "baseline", vw, current, cw, "change")))
	for i, d := range c.Metrics {
		r := rows[i]
		mark, st := p.st.pass.Render("✓"), lipgloss.Style{}
		if d.Regressed {
			mark, st = p.st.fail.Render("✗"), p.st.bad
		}
		better := "(higher is better)"
		if d.Better == "lower" {
			better = "(lower is better)"
		}
		line := fmt.Sprintf("%-*s  %s  %s  %*s", mw, r.metric, padLeft(r.base, bw), padLeft(r.value, vw), cw, r.change)
		if ansi.StringWidth(line)+4+len(better)+2 <= lineWidth {
			line += "  " + p.st.faint.Render(better)
		}
		p.line("  ", mark, " ", st.Render(line))
	}
}

// gateSuffix is what the verdict banner says about the gate: "; 2 of 5
// thresholds failed; 1 of 4 metrics regressed".
func gateSuffix(g *Gate) string {
	if g == nil {
		return ""
	}
	var parts []string
	if n := len(g.Thresholds); n > 0 {
		failed := 0
		for _, t := range g.Thresholds {
			if !t.Passed {
				failed++
			}
		}
		if failed > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d thresholds failed", failed, n))
		} else {
			parts = append(parts, fmt.Sprintf("%d/%d thresholds", n, n))
		}
	}
	if c := g.Baseline; c != nil {
		if regressed := c.regressed(); regressed > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d metrics regressed", regressed, len(c.Metrics)))
		} else {
			parts = append(parts, fmt.Sprintf("baseline within %s%%", number(c.TolerancePct)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, "; ")
}

// verdictLines breaks a verdict banner too wide for one line after one of
// its "; " (or, failing that, between words), so that each part reads whole.
func verdictLines(text string) []string {
	if ansi.StringWidth(text) <= lineWidth {
		return []string{text}
	}
	for i := strings.LastIndex(text, "; "); i > 0; i = strings.LastIndex(text[:i], "; ") {
		if ansi.StringWidth(text[:i+1]) <= lineWidth && ansi.StringWidth(text[i+2:]) <= lineWidth {
			return []string{text[:i+1], text[i+2:]}
		}
	}
	return wrap(text, lineWidth)
}

// RenderComparison writes a baseline comparison on its own, as `report diff`
// prints it, with a closing verdict line.
func RenderComparison(w io.Writer, c *Comparison, rd *lipgloss.Renderer) error {
	p := &printer{st: newStyles(orASCII(w, rd))}
	p.comparison(c, "new")
	p.blank()
	if c.Passed {
		p.line(p.st.pass.Render(fmt.Sprintf("✓ no metric worse than the baseline by more than %s%%", number(c.TolerancePct))))
	} else {
		p.line(p.st.fail.Render("✗ REGRESSED"))
	}
	_, err := w.Write([]byte(strings.TrimPrefix(p.b.String(), "\n")))
	return err
}

// padLeft pads s on the left with spaces to width columns.
func padLeft(s string, width int) string {
	return strings.Repeat(" ", max(0, width-ansi.StringWidth(s))) + s
}

// regressed counts the metrics of c that regressed.
func (c *Comparison) regressed() int {
	n := 0
	for _, d := range c.Metrics {
		if d.Regressed {
			n++
		}
	}
	return n
}

// widest is the width in columns of the widest text of the items.
func widest[T any](items []T, text func(T) string) int {
	w := 0
	for _, it := range items {
		w = max(w, ansi.StringWidth(text(it)))
	}
	return w
}

func nonEmpty(items []string) []string {
	var out []string
	for _, s := range items {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
