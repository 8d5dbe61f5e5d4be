package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// lineWidth is the number of columns the terminal report fills.
const lineWidth = 80

// maxPartitionRows is the largest partition count the report lists one row
// per partition for; above it the partitions are summarised.
const maxPartitionRows = 50

const (
	barWidth     = 30 // cells of the widest partition bar
	leaderBar    = 20 // cells of the widest leader bar
	labelWidth   = 11 // header labels ("Profile", "Cluster", ...)
	topDeviating = 10 // partitions listed when there are too many to list all
)

// Render writes the styled terminal report of r to w. Colours and bold come
// from rd; a renderer with the termenv.Ascii profile (or a nil rd) gives plain
// text without escape codes.
func Render(w io.Writer, r *Report, rd *lipgloss.Renderer) error {
	return renderReport(w, r, rd, false)
}

// RenderCompact is Render without the fault scenarios' timeline and
// unavailability windows, which run to pages after a failover profile: the
// default on a terminal; -v shows everything.
func RenderCompact(w io.Writer, r *Report, rd *lipgloss.Renderer) error {
	return renderReport(w, r, rd, true)
}

func renderReport(w io.Writer, r *Report, rd *lipgloss.Renderer, compact bool) error {
	rd = orASCII(w, rd)
	p := &printer{st: newStyles(rd), compact: compact}
	p.header(r)
	p.nodes(r)
	p.scenarios(r)
	p.faults(r.Faults)
	p.summary(r)
	p.internalErrors(r)
	p.verdict(r)
	_, err := io.WriteString(w, p.b.String())
	return err
}

type styles struct {
	title, heading, label, faint lipgloss.Style
	pass, fail, skip, bad        lipgloss.Style
	box                          lipgloss.Style
}

func newStyles(rd *lipgloss.Renderer) styles {
	red, green, yellow, cyan := lipgloss.Color("1"), lipgloss.Color("2"), lipgloss.Color("3"), lipgloss.Color("6")
	return styles{
		title:   rd.NewStyle().Bold(true).Foreground(cyan),
		heading: rd.NewStyle().Bold(true),
		label:   rd.NewStyle().Faint(true),
		faint:   rd.NewStyle().Faint(true),
		pass:    rd.NewStyle().Bold(true).Foreground(green),
		fail:    rd.NewStyle().Bold(true).Foreground(red),
		skip:    rd.NewStyle().Bold(true).Foreground(yellow),
		bad:     rd.NewStyle().Foreground(red),
		box: rd.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(cyan).
			Padding(0, 1).Width(lineWidth - 2),
	}
}

type printer struct {
	b       strings.Builder
	st      styles
	compact bool // leave out the fault timeline and windows (RenderCompact)
}

func (p *printer) line(parts ...string) {
	p.b.WriteString(strings.TrimRight(strings.Join(parts, ""), " "))
	p.b.WriteByte('\n')
}

func (p *printer) blank() { p.b.WriteByte('\n') }

// header writes the box with the run, the cluster and the configuration.
func (p *printer) header(r *Report) {
	inner := lineWidth - 4 // border and padding
	var lines []string
	// field writes label and the non-empty items joined by sep, wrapped under the label.
	field := func(label, sep string, items ...string) {
		items = slices.DeleteFunc(items, func(s string) bool { return s == "" })
		if len(items) == 0 {
			return
		}
		for i, l := range wrapItems(items, sep, inner-labelWidth) {
			lbl := strings.Repeat(" ", labelWidth)
			if i == 0 {
				lbl = p.st.label.Render(pad(label, labelWidth))
			}
			lines = append(lines, lbl+l)
		}
	}

	lines = append(lines, p.st.title.Render("CHRONIK-E2E")+"  end-to-end test report", "")
	field("Profile", " · ", r.Profile, r.ProfileSource, shortDigest(r.ProfileDigest))
	field("Tags", " · ", r.TagList()...)
	field("Run", "", r.RunID)
	if sh := r.Shard; sh != nil && len(r.Merged) == 0 {
		field("Shard", " · ", fmt.Sprintf("%d of %d in run group %s", sh.Index, sh.Count, sh.Group),
			fmt.Sprintf("sequences %d-%d", sh.FirstSeq, sh.LastSeq), fmt.Sprintf("keys %d-%d", sh.FirstKey, sh.LastKey))
	} else if sh != nil {
		field("Shards", " · ", fmt.Sprintf("%d merged, run group %s", sh.Count, sh.Group))
	}
	var took string
	if r.DurationS > 0 {
		took = "took " + seconds(r.DurationS)
	}
	if !r.StartedAt.IsZero() {
		field("Started", ", ", r.StartedAt.Format("2006-01-02 15:04:05 MST"), took)
	} else {
		field("Took", "", took)
	}

	c := r.Cluster
	field("Cluster", "", c.Mode)
	field("Bootstrap", ", ", c.Bootstrap...)
	field("Security", "", c.Security)
	brokers := slices.Clone(c.Brokers)
	slices.SortFunc(brokers, func(a, b Broker) int { return cmp.Compare(a.ID, b.ID) })
	var bs []string
	for _, b := range brokers {
		bs = append(bs, fmt.Sprintf("%d %s", b.ID, b.Addr))
	}
	field("Brokers", " · ", bs...)
	if c.KafkaVersion != "" { // wrapped at words
		field("Protocol", " ", append([]string{c.KafkaVersion, "·"}, strings.Fields(protocolWhy(c.KafkaVersionWhy))...)...)
	}

	cf := r.Config
	lines = append(lines, "")
	existing := ""
	if cf.TopicExisting {
		existing = "existing"
	}
	field("Topic", " · ", quoteIf(cf.Topic), existing, countOf(cf.Partitions, "partition"),
		nonZero(cf.ReplicationFactor, "RF %d"), countOf(cf.Nodes, "node"))
	field("Cleanup", "", r.TopicCleanup)
	field("Workload", " · ", append([]string{countOf(cf.Messages, "message"), countOf(cf.Keys, "key"),
		nonZero(cf.ValueBytes, "%d B values"), prefixed("acks ", cf.Acks)}, loadItems(cf)...)...)
	field("Timeout", "", suffixed(cf.ScenarioTimeout, " per scenario"))
	field("Tool", "", prefixed("chronik-e2e ", r.ToolVersion))

	p.line(p.st.box.Render(strings.Join(lines, "\n")))
}

// scenarios writes one section per scenario in run order.
func (p *printer) scenarios(r *Report) {
	for _, s := range r.Scenarios {
		p.blank()
		p.line(p.st.faint.Render(strings.Repeat("─", lineWidth)))
		head := "▶ " + p.st.heading.Render(s.Name) + "  " + p.status(s)
		if !s.Skipped || s.DurationS > 0 {
			head += " (" + seconds(s.DurationS) + ")"
		}
		p.line(head)
		switch {
		case s.NotApplicable && r.AllowNotApplicable:
			p.wrapped("  ", p.st.skip.Render("○ "), s.Error, lipgloss.Style{})
		case s.NotApplicable:
			p.wrapped("  ", p.st.fail.Render("✗ "), s.Error, p.st.bad)
		case s.Error != "":
			p.wrapped("  ", p.st.fail.Render("error: "), s.Error, p.st.bad)
		}
		for _, f := range s.Findings {
			p.wrapped("  ", p.st.fail.Render("✗ "), f, p.st.bad)
		}
		for _, n := range s.Notes {
			p.wrapped("  ", "• ", n, lipgloss.Style{})
		}
		p.metrics(s.Metrics)
	}
}

// wrapped writes text after indent and mark, wrapped to lineWidth with a hanging
// indent under the text, each line in style st.
func (p *printer) wrapped(indent, mark, text string, st lipgloss.Style) {
	lead := ansi.StringWidth(indent) + ansi.StringWidth(mark)
	for i, l := range wrap(text, lineWidth-lead) {
		if i == 0 {
			p.line(indent, mark, st.Render(l))
		} else {
			p.line(strings.Repeat(" ", lead), st.Render(l))
		}
	}
}

func (p *printer) metrics(m map[string]float64) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	cells := make([]string, len(keys))
	for i, k := range keys {
		cells[i] = k + ": " + metric(k, m[k])
	}
	p.grid(cells, "  ")
}

// grid writes plain cells in as many aligned columns as fit in lineWidth.
func (p *printer) grid(cells []string, indent string) {
	w := widest(cells, func(c string) string { return c })
	const gap = 3
	cols := max(1, (lineWidth-len(indent)+gap)/(w+gap))
	for i := 0; i < len(cells); i += cols {
		row := cells[i:min(i+cols, len(cells))]
		var b strings.Builder
		for j, c := range row {
			b.WriteString(c)
			if j < len(row)-1 {
				b.WriteString(strings.Repeat(" ", w+gap-ansi.StringWidth(c)))
			}
		}
		if ansi.StringWidth(indent+b.String()) > lineWidth {
			for _, l := range wrap(b.String(), lineWidth-len(indent)) {
				p.line(indent, l)
			}
			continue
		}
		p.line(indent, b.String())
	}
}

func (p *printer) status(s *Scenario) string {
	switch {
	case s.InternalError:
		return p.st.fail.Render("ERROR")
	case s.NotApplicable:
		return p.st.skip.Render("NOT APPLICABLE")
	case s.NotRun:
		return p.st.skip.Render("NOT RUN")
	case s.Skipped:
		return p.st.skip.Render("SKIPPED")
	case s.Passed:
		return p.st.pass.Render("PASSED")
	default:
		return p.st.fail.Render("FAILED")
	}
}

// summary writes the SUMMARY part: delivery, throughput, latency,
// distribution, leaders, partitions and scenario results.
func (p *printer) summary(r *Report) {
	p.blank()
	p.line(strings.Repeat("═", lineWidth))
	p.line(p.st.heading.Render("SUMMARY"))
	p.line(strings.Repeat("═", lineWidth))
	p.delivery(r.Delivery, r.Consumed)
	p.losses(r.Delivery.Losses)
	p.audit(r.Audit)
	p.transactions(r.Transactions)
	if r.Produced || r.Consumed {
		p.throughput(r)
	}
	if r.Produced {
		p.latency(r.Latency, produceLatencyTitle(r.Config))
	}
	if r.EndToEnd != nil {
		p.latency(*r.EndToEnd, "Latency (end to end: send to read)")
	}
	p.distribution(r)
	p.leaders(r)
	p.partitions(r.Partitions, r.Consumed)
	p.results(r.Scenarios)
	p.shards(r.Merged)
	p.untested(r)
	p.gate(r.Gate)
}

func (p *printer) section(title string) {
	p.blank()
	p.line(p.st.heading.Render(title))
}

// delivery writes what became of the messages; what only reading back
// measures (lost, duplicated, ...) only when something was read back.
func (p *printer) delivery(d Delivery, consumed bool) {
	p.section("Messages")
	type cell struct {
		label string
		n     int64
		bad   bool // a non-zero count is a problem
	}
	cells := []cell{
		{"sent", d.Sent, false},
		{"acked", d.Acked, false},
		{"failed", d.Failed, true},
		{"consumed", d.Consumed, false},
		{"lost", d.Lost, true},
		{"duplicated", d.Duplicated, true},
		{"reordered", d.Reordered, true},
		{"unexpected", d.Unexpected, true},
		{"misplaced", d.Misplaced, true},
		{"unacked read", d.UnackedRead, true},
	}
	if d.SiblingsRead > 0 {
		cells = append(cells, cell{"sibling read", d.SiblingsRead, false})
	}
	if !consumed {
		cells = cells[:3]
	}
	const lw = 13 // widest label plus a space
	vw := 5
	for _, c := range cells {
		vw = max(vw, len(commas(c.n)))
	}
	const gap = 4
	cols := max(1, (lineWidth-2+gap)/(lw+vw+gap))
	for i := 0; i < len(cells); i += cols {
		var b strings.Builder
		b.WriteString("  ")
		for j, c := range cells[i:min(i+cols, len(cells))] {
			if j > 0 {
				b.WriteString(strings.Repeat(" ", gap))
			}
			v := fmt.Sprintf("%*s", vw, commas(c.n))
			if c.bad && c.n != 0 {
				v = p.st.fail.Render(v)
			}
			b.WriteString(pad(c.label, lw) + v)
		}
		p.line(b.String())
	}
	if !consumed {
		p.line(p.st.faint.Render("  nothing was read back: lost, duplicated and reordered were not counted"))
	}

	if len(d.FailedByError) > 0 {
		p.line("  failed by error:")
		type kv struct {
			err string
			n   int64
		}
		var errs []kv
		w := 0
		for e, n := range d.FailedByError {
			errs = append(errs, kv{e, n})
			w = max(w, ansi.StringWidth(e))
		}
		slices.SortFunc(errs, func(a, b kv) int {
			return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.err, b.err))
		})
		w = min(w, lineWidth-24)
		for _, e := range errs {
			name := e.err
			if ansi.StringWidth(name) > w {
				name = ansi.Truncate(name, w, "…")
			}
			p.line("    ", pad(name, w), "  ", p.st.bad.Render(commas(e.n)))
		}
	}
}

func (p *printer) throughput(r *Report) {
	t := r.Throughput
	p.section("Throughput")
	type row struct {
		name      string
		msgs, mb  float64
		durationS float64
		engine    string
	}
	var rows []row
	if r.Produced {
		rows = append(rows, row{"produce", t.ProduceMsgsPerS, t.ProduceMBPerS, t.ProduceDurationS, t.ProduceEngine})
	}
	if r.Consumed {
		rows = append(rows, row{"consume", t.ConsumeMsgsPerS, t.ConsumeMBPerS, t.ConsumeDurationS, ""})
	}
	mw, bw := 0, 0
	for _, x := range rows {
		mw = max(mw, len(rate(x.msgs)))
		bw = max(bw, len(megabytes(x.mb)))
	}
	for _, x := range rows {
		l := fmt.Sprintf("  %-9s%*s msg/s   %*s MB/s", x.name, mw, rate(x.msgs), bw, megabytes(x.mb))
		if x.durationS > 0 {
			l += "   in " + seconds(x.durationS)
		}
		if x.engine != "" {
			l += "   engine " + x.engine
		}
		p.line(l)
	}
}

func (p *printer) latency(l Latency, title string) {
	p.section(title)
	p.line(fmt.Sprintf("  p50 %s   p99 %s   p99.9 %s   max %s   mean %s",
		millis(l.P50), millis(l.P99), millis(l.P999), millis(l.Max), millis(l.Mean)))
	p.histogram(l.Histogram)
}

func (p *printer) distribution(r *Report) {
	parts := r.Partitions
	var total, most int64
	for _, x := range parts {
		total += x.Messages
		most = max(most, x.Messages)
	}
	if len(parts) == 0 || total == 0 {
		return
	}
	p.section("Partition distribution")
	mean := float64(total) / float64(len(parts))
	dev := func(x Partition) float64 { return (float64(x.Messages) - mean) / mean * 100 }

	rows := slices.Clone(parts)
	if len(rows) > maxPartitionRows {
		slices.SortStableFunc(rows, func(a, b Partition) int {
			return cmp.Compare(math.Abs(dev(b)), math.Abs(dev(a)))
		})
		rows = rows[:topDeviating]
		p.line(fmt.Sprintf("  %d partitions; the %d furthest from the mean:", len(parts), topDeviating))
	}
	slices.SortStableFunc(rows, func(a, b Partition) int { return cmp.Compare(a.ID, b.ID) })

	mw := len("messages")
	for _, x := range rows {
		mw = max(mw, len(commas(x.Messages)))
	}
	p.line(p.st.faint.Render(fmt.Sprintf("  %9s  %*s  %6s  %8s", "partition", mw, "messages", "share", "vs mean")))
	for _, x := range rows {
		d := dev(x)
		vs := fmt.Sprintf("%+.1f%%", d)
		if math.Abs(d) < 0.05 {
			vs = "0.0%" // not "-0.0%"
		}
		share := float64(x.Messages) / float64(total) * 100
		p.line(fmt.Sprintf("  %9d  %*s  %5.1f%%  %8s  ", x.ID, mw, commas(x.Messages), share, vs),
			bar(x.Messages, most, barWidth))
	}
	p.line(fmt.Sprintf("  mean %s per partition · variance %s · max deviation %.1f%% of the mean",
		number(mean), number(r.Distribution.Variance), r.Distribution.MaxDeviationPct))
}

func (p *printer) leaders(r *Report) {
	if len(r.Leaders) == 0 {
		return
	}
	counts := make(map[string]int, len(r.Leaders))
	for k, v := range r.Leaders {
		counts[k] = v
	}
	// A broker that leads nothing is worth seeing.
	for _, b := range r.Cluster.Brokers {
		k := strconv.Itoa(int(b.ID))
		if _, ok := counts[k]; !ok {
			counts[k] = 0
		}
	}
	keys := make([]string, 0, len(counts))
	most := 0
	for k, v := range counts {
		keys = append(keys, k)
		most = max(most, v)
	}
	slices.SortFunc(keys, compareIDs)

	p.section("Leader distribution")
	nw, cw := 0, 0
	for _, k := range keys {
		nw = max(nw, len(brokerName(k)))
		cw = max(cw, len(strconv.Itoa(counts[k])))
	}
	phrase := func(k string) (string, lipgloss.Style) {
		noun := "partitions"
		if counts[k] == 1 {
			noun = "partition"
		}
		if id, err := strconv.Atoi(k); err == nil && id < 0 {
			return noun + " without a leader", p.st.bad
		}
		return noun + " as leader", lipgloss.Style{}
	}
	pw := 0
	for _, k := range keys {
		w, _ := phrase(k)
		pw = max(pw, len(w))
	}
	for _, k := range keys {
		n := counts[k]
		what, st := phrase(k)
		p.line("  ", st.Render(pad(brokerName(k), nw)), fmt.Sprintf("  %*d ", cw, n),
			pad(what, pw), "  ", st.Render(bar(int64(n), int64(most), leaderBar)))
	}
}

func brokerName(k string) string {
	if id, err := strconv.Atoi(k); err == nil && id < 0 {
		return "no leader"
	}
	return "broker " + k
}

// compareIDs orders broker ids numerically, then negative ids (no leader),
// then anything not a number.
func compareIDs(a, b string) int {
	ia, ea := strconv.Atoi(a)
	ib, eb := strconv.Atoi(b)
	switch {
	case ea == nil && eb == nil:
		if (ia < 0) != (ib < 0) {
			return cmp.Compare(ib, ia) // the negative one last
		}
		return cmp.Compare(ia, ib)
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

// partitions writes each partition's shape, as the metadata check described
// it, and its high watermark, as reading back found it; what was not
// measured shows as "-", and nothing measured shows nothing.
func (p *printer) partitions(parts []Partition, consumed bool) {
	described := slices.ContainsFunc(parts, func(x Partition) bool { return x.Replicas != nil })
	if len(parts) == 0 || (!described && !consumed) {
		return
	}
	p.section("Partitions")
	if len(parts) > maxPartitionRows {
		var under, leaderless int
		var hw int64
		for _, x := range parts {
			if len(x.ISR) < len(x.Replicas) {
				under++
			}
			if x.Leader < 0 {
				leaderless++
			}
			hw += x.HighWatermark
		}
		var facts []string
		if described {
			facts = append(facts, fmt.Sprintf("%d in sync, %d under-replicated, %d without a leader", len(parts)-under, under, leaderless))
		} else {
			under, leaderless = 0, 0
		}
		if consumed {
			facts = append(facts, "high watermarks sum to "+commas(hw))
		}
		l := fmt.Sprintf("  %d partitions: %s", len(parts), strings.Join(facts, "; "))
		st := lipgloss.Style{}
		if under > 0 || leaderless > 0 {
			st = p.st.bad
		}
		for i, w := range wrap(strings.TrimSpace(l), lineWidth-2) {
			if i > 0 {
				w = "  " + w
			}
			p.line("  ", st.Render(w))
		}
		return
	}

	rows := slices.Clone(parts)
	slices.SortStableFunc(rows, func(a, b Partition) int { return cmp.Compare(a.ID, b.ID) })
	type cells struct{ leader, replicas, isr, hw string }
	cs := make([]cells, len(rows))
	lw, rw, iw, hw := len("leader"), len("replicas"), len("isr"), len("high watermark")
	for i, x := range rows {
		c := cells{strconv.Itoa(int(x.Leader)), ids(x.Replicas), ids(x.ISR), commas(x.HighWatermark)}
		switch {
		case x.Replicas == nil:
			c.leader, c.replicas, c.isr = "-", "-", "-"
		case x.Leader < 0:
			c.leader = "none"
		}
		if !consumed {
			c.hw = "-"
		}
		cs[i] = c
		lw, rw, iw, hw = max(lw, len(c.leader)), max(rw, len(c.replicas)), max(iw, len(c.isr)), max(hw, len(c.hw))
	}
	p.line(p.st.faint.Render(fmt.Sprintf("  %9s  %*s  %-*s  %-*s  %*s",
		"partition", lw, "leader", rw, "replicas", iw, "isr", hw, "high watermark")))
	for i, x := range rows {
		c := cs[i]
		leader := fmt.Sprintf("%*s", lw, c.leader)
		if x.Leader < 0 && x.Replicas != nil {
			leader = p.st.fail.Render(leader)
		}
		isr := pad(c.isr, iw)
		if len(x.ISR) < len(x.Replicas) {
			isr = p.st.fail.Render(isr)
		}
		p.line(fmt.Sprintf("  %9d  %s  %-*s  %s  %*s", x.ID, leader, rw, c.replicas, isr, hw, c.hw))
	}
}

func (p *printer) results(ss []*Scenario) {
	if len(ss) == 0 {
		return
	}
	p.section("Scenario results")
	nw := min(widest(ss, func(s *Scenario) string { return s.Name }), lineWidth-30)
	for _, s := range ss {
		p.line(p.result(s, nw))
	}
}

// shards lists the shards a merged report combines, each with its verdict
// and, for one that did not pass, why.
func (p *printer) shards(ms []MergedShard) {
	if len(ms) == 0 {
		return
	}
	p.section("Shards")
	for _, m := range ms {
		mark, st := p.st.pass.Render("✓"), p.st.pass
		if m.Verdict != VerdictPassed {
			mark, st = p.st.fail.Render("✗"), p.st.fail
		}
		p.line(fmt.Sprintf("  %s shard %-3d %s  %s", mark, m.Index, st.Render(pad(m.Verdict, 11)), m.File))
		if m.Why != "" {
			p.wrapped("      ", "", m.Why, lipgloss.Style{})
		}
	}
}

// untested names the guarantees the run left untested: the scenarios not
// applicable to this cluster.
func (p *printer) untested(r *Report) {
	if len(r.Untested) == 0 {
		return
	}
	title := "Untested (not applicable to this cluster; allowed by the profile)"
	if !r.AllowNotApplicable {
		title = "Untested (not applicable to this cluster: fails the run without allow_not_applicable)"
	}
	p.section(title)
	for _, u := range r.Untested {
		p.wrapped("  ", "○ ", u, lipgloss.Style{})
	}
}

// result is the verdict line of scenario s, its name padded to nw cells.
func (p *printer) result(s *Scenario, nw int) string {
	mark, word := p.st.pass.Render("✓"), "PASSED"
	switch {
	case s.InternalError:
		mark, word = p.st.fail.Render("✗"), "ERROR"
	case s.NotApplicable:
		mark, word = p.st.skip.Render("○"), "N/A"
	case s.NotRun:
		mark, word = p.st.skip.Render("○"), "NOT RUN"
	case s.Skipped:
		mark, word = p.st.skip.Render("○"), "SKIPPED"
	case !s.Passed:
		mark, word = p.st.fail.Render("✗"), "FAILED"
	}
	name := s.Name
	if ansi.StringWidth(name) > nw {
		name = ansi.Truncate(name, nw, "…")
	}
	st := p.st.pass
	switch {
	case s.Skipped:
		st = p.st.skip
	case !s.Passed:
		st = p.st.fail
	}
	l := "  " + mark + " " + pad(name, nw) + "  " + st.Render(pad(word, 7))
	if !s.Skipped || s.DurationS > 0 {
		l += fmt.Sprintf("  %7s", seconds(s.DurationS))
	}
	switch {
	case len(s.Findings) > 0:
		l += "  " + p.st.bad.Render(countOf(len(s.Findings), "finding"))
	case s.NotApplicable:
		l += "  " + p.st.skip.Render("not applicable to this cluster")
	case s.NotRun: // its section says why
	case s.Error != "":
		l += "  " + p.st.bad.Render("error")
	}
	return l
}

// RenderSummary writes the short report of --quiet: each scenario's verdict
// line, then the verdict.
func RenderSummary(w io.Writer, r *Report, rd *lipgloss.Renderer) error {
	p := &printer{st: newStyles(orASCII(w, rd))}
	nw := min(widest(r.Scenarios, func(s *Scenario) string { return s.Name }), lineWidth-30)
	for _, s := range r.Scenarios {
		p.line(p.result(s, nw))
	}
	p.verdict(r)
	_, err := io.WriteString(w, p.b.String())
	return err
}

// RenderScenarioLine writes the verdict line of one finished scenario, as
// the live view on a terminal shows it; nameWidth pads the name so that the
// lines of a run line up.
func RenderScenarioLine(w io.Writer, s *Scenario, nameWidth int, rd *lipgloss.Renderer) error {
	p := &printer{st: newStyles(orASCII(w, rd))}
	p.line(p.result(s, max(nameWidth, len(s.Name))))
	_, err := io.WriteString(w, p.b.String())
	return err
}

// verdict writes the final banner.
func (p *printer) verdict(r *Report) {
	var passed, skipped, notApplicable, notRun int
	for _, s := range r.Scenarios {
		if s.NotRun {
			notRun++
		}
		switch {
		case s.NotApplicable:
			notApplicable++
		case s.Skipped:
			skipped++
		case s.Passed:
			passed++
		}
	}
	n := len(r.Scenarios)
	var text string
	var st lipgloss.Style
	switch {
	case r.Errored():
		p.banner("✗ ERROR  "+InternalErrorText, p.st.fail)
		return
	case r.Interrupted && notRun > 0:
		text, st = fmt.Sprintf("■ INTERRUPTED (%d/%d scenarios passed, %d not run)", passed, n, notRun), p.st.skip
	case r.Interrupted:
		text, st = fmt.Sprintf("■ INTERRUPTED (%d/%d scenarios passed)", passed, n), p.st.skip
	case n == 0:
		text, st = "✗ FAILED (no scenario ran)", p.st.fail
	case notApplicable == n:
		text, st = fmt.Sprintf("○ NOTHING CHECKED (%d/%d scenarios not applicable to this cluster)", n, n), p.st.skip
	case r.Passed:
		text, st = fmt.Sprintf("✓ PASSED (%d/%d scenarios)", passed, n), p.st.pass
	default:
		text, st = fmt.Sprintf("✗ FAILED (%d/%d scenarios passed)", passed, n), p.st.fail
	}
	if skipped > 0 && !r.Interrupted && n > 0 {
		text = strings.TrimSuffix(text, ")") + fmt.Sprintf(", %d skipped)", skipped)
	}
	if notApplicable > 0 && notApplicable < n && !r.Interrupted {
		text = strings.TrimSuffix(text, ")") + fmt.Sprintf(", %d not applicable)", notApplicable)
	}
	if c := clusterSuffix(r.Cluster); c != "" && !r.Interrupted && n > 0 {
		text = strings.TrimSuffix(text, ")") + c + ")"
	}
	if g := gateSuffix(r.Gate); g != "" && !r.Interrupted && n > 0 {
		text = strings.TrimSuffix(text, ")") + g + ")"
	}
	if r.DurationS > 0 {
		text += " in " + seconds(r.DurationS)
	}
	p.banner(text, st)
}

// banner writes the verdict text between two rules, centred, in style st.
func (p *printer) banner(text string, st lipgloss.Style) {
	rule := st.Render(strings.Repeat("═", lineWidth))
	p.blank()
	p.line(rule)
	for _, l := range verdictLines(text) { // a long verdict (with a gate) takes two lines
		p.line(strings.Repeat(" ", max(0, (lineWidth-ansi.StringWidth(l))/2)), st.Render(l))
	}
	p.line(rule)
}

// bar is a run of █ as long as n is to most, scaled to width cells; a
// non-zero n gets at least one cell.
func bar(n, most int64, width int) string {
	if most <= 0 || n <= 0 {
		return ""
	}
	cells := int(math.Round(float64(n) / float64(most) * float64(width)))
	return strings.Repeat("█", max(1, cells))
}

// wrap word-wraps s to width columns, breaking words longer than a line.
func wrap(s string, width int) []string {
	lines := strings.Split(ansi.Wrap(s, max(width, 10), ""), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// wrapItems joins items with sep into lines of at most width columns,
// breaking only between items (an item wider than a line is wrapped itself).
func wrapItems(items []string, sep string, width int) []string {
	var lines []string
	cur := ""
	for _, it := range items {
		switch {
		case cur == "":
			cur = it
		case ansi.StringWidth(cur+sep+it) <= width:
			cur += sep + it
		default:
			lines = append(lines, cur)
			cur = it
		}
		if ansi.StringWidth(cur) > width {
			w := wrap(cur, width)
			lines = append(lines, w[:len(w)-1]...)
			cur = w[len(w)-1]
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// pad pads s with spaces to width columns.
func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(0, width-ansi.StringWidth(s)))
}

// commas formats n with thousands separators: 1234567 is "1,234,567".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// rate formats a per-second rate: whole numbers with separators, rates
// under 100 with a decimal.
func rate(f float64) string {
	if f < 100 && f != math.Trunc(f) {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return number(math.Round(f))
}

// number formats f compactly: integers with thousands separators, others
// with up to three decimals.
func number(f float64) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return strconv.FormatFloat(f, 'f', -1, 64)
	case math.Abs(f) >= 1000 || f == math.Trunc(f):
		return commas(int64(math.Round(f)))
	case math.Abs(f) >= 100:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(math.Round(f*1000)/1000, 'f', -1, 64)
}

// seconds formats a duration in seconds for people: "0.004s", "0.12s",
// "12.3s", "2m5s".
func seconds(s float64) string {
	switch {
	case math.IsNaN(s) || math.IsInf(s, 0):
		return strconv.FormatFloat(s, 'f', -1, 64) + "s"
	case s == 0:
		return "0s"
	case s < 0.1:
		return strconv.FormatFloat(s, 'f', 3, 64) + "s"
	case s < 10:
		return strconv.FormatFloat(s, 'f', 2, 64) + "s"
	case s < 60:
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	}
	return time.Duration(math.Round(s) * float64(time.Second)).String()
}

// megabytes formats a rate in MB/s with two significant decimals for small rates.
func megabytes(mb float64) string {
	switch {
	case mb >= 10:
		return strconv.FormatFloat(mb, 'f', 1, 64)
	case mb >= 0.01 || mb == 0:
		return strconv.FormatFloat(mb, 'f', 2, 64)
	}
	return strconv.FormatFloat(mb, 'f', 3, 64)
}

// millis formats a latency in milliseconds.
func millis(ms float64) string {
	switch {
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	case ms < 1000:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return commas(int64(math.Round(ms))) + " ms"
}

// metric formats a scenario metric by the unit its name ends in.
func metric(name string, v float64) string {
	switch {
	case strings.HasSuffix(name, "_per_s"): // a rate, not a duration
		return number(v) + "/s"
	case strings.HasSuffix(name, "_s") || strings.HasSuffix(name, "_seconds"):
		return seconds(v)
	case strings.HasSuffix(name, "_ms"):
		return millis(v)
	case strings.HasSuffix(name, "_pct"):
		return strconv.FormatFloat(v, 'f', 1, 64) + "%"
	}
	return number(v)
}

func ids(xs []int32) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(int(x))
	}
	return strings.Join(s, ",")
}

// countOf is "1 key", "100 keys", or "" for zero.
func countOf(n int, noun string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "1 " + noun
	}
	return commas(int64(n)) + " " + noun + "s"
}

func nonZero(n int, format string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(format, n)
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func suffixed(s, suffix string) string {
	if s == "" {
		return ""
	}
	return s + suffix
}

func quoteIf(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}

// shortDigest is "sha256:" and the first 12 hex digits of a digest, enough
// to tell two profiles apart at a glance.
func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}

// protocolWhy shortens the reason for an auto-chosen protocol version to its
// conclusion for the header ("auto: chose 3.6.0 (3.7.0 would send Fetch
// v16)"); the brokers' version ranges stay in the JSON report.
func protocolWhy(why string) string {
	if i := strings.LastIndex(why, "; chose "); strings.HasPrefix(why, "auto:") && i >= 0 {
		return "auto: every broker's ApiVersions checked;" + why[i+1:]
	}
	return why
}
