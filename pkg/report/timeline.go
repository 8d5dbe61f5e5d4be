package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// maxTimelineRows (per scenario) and maxWindowRows bound the terminal's
// timeline and window tables; the JSON report has every row.
const (
	maxTimelineRows = 25
	maxWindowRows   = 40
)

// faults writes the FAULTS part: target and seed, what the cluster cannot
// simulate, the timeline, the unavailability windows, the delivery of each
// producer mode and the guarantee table.
func (p *printer) faults(f *Faults) {
	if f == nil {
		return
	}
	p.blank()
	p.line(strings.Repeat("═", lineWidth))
	p.line(p.st.heading.Render("FAULTS"))
	p.line(strings.Repeat("═", lineWidth))
	p.blank()
	p.line(fmt.Sprintf("  target %s · seed %d", f.Target, f.Seed))
	p.line(p.st.faint.Render(fmt.Sprintf("  replay with --fault-target %s --fault-seed %d", f.Target, f.Seed)))
	if f.Limits != "" {
		p.wrapped("  ", "", f.Limits, p.st.faint)
	}
	if p.compact && (len(f.Timeline) > 0 || len(f.Windows) > 0) {
		p.blank()
		var what []string
		if len(f.Timeline) > 0 {
			what = append(what, "timeline of "+countOf(len(f.Timeline), "event"))
		}
		if len(f.Windows) > 0 {
			what = append(what, countOf(len(f.Windows), "unavailability window"))
		}
		p.wrapped("  ", "", strings.Join(what, " and ")+" left out: -v shows them, the JSON report has every row", p.st.faint)
	} else {
		p.timeline(f.Timeline)
		p.windows(f.Windows)
	}
	p.isr(f.ISR)
	p.faultRuns(f.Runs)
	p.guarantees(f.Guarantees)
}

// timeline writes the events on one time axis, seconds since the run
// started, under a line naming the scenario whenever it changes.
func (p *printer) timeline(events []Event) {
	if len(events) == 0 {
		return
	}
	p.section("Timeline (seconds since the run started)")
	shown := map[string]int{}
	hidden := map[string]int{}
	var order []string
	scenario := ""
	for _, e := range events {
		if _, seen := shown[e.Scenario]; !seen {
			order = append(order, e.Scenario)
		}
		if shown[e.Scenario] >= maxTimelineRows {
			hidden[e.Scenario]++
			continue
		}
		shown[e.Scenario]++
		if e.Scenario != scenario {
			scenario = e.Scenario
			p.line("  ", p.st.heading.Render(scenario))
		}
		subject := e.subject()
		kind, st := e.Kind, lipgloss.Style{}
		switch e.Kind {
		case EventFault:
			kind, st = "⚡ "+kind, p.st.skip
		case EventFirstError, EventNoLeader, EventNodeGone:
			st = p.st.bad
		}
		// Continuation lines hang under the event, not under its detail.
		lead := fmt.Sprintf("  %8.3f  ", e.AtS)
		for i, l := range wrap(kind+subject+": "+e.Detail, lineWidth-len(lead)-2) {
			if i > 0 {
				p.line(strings.Repeat(" ", len(lead)+2), l)
				continue
			}
			rest, _ := strings.CutPrefix(l, kind)
			p.line(lead, st.Render(kind), rest)
		}
	}
	for _, sc := range order {
		if n := hidden[sc]; n > 0 {
			p.line(p.st.faint.Render(fmt.Sprintf("  … and %d more events of %s in the JSON report", n, sc)))
		}
	}
}

// windows writes each partition's unavailability window.
func (p *printer) windows(ws []Window) {
	if len(ws) == 0 {
		return
	}
	p.section("Unavailability (per partition: last ack before → first ack after)")
	p.line(p.st.label.Render(fmt.Sprintf("  %-16s %-14s %4s  %-6s %8s  %10s  %s", "scenario", "fault", "part", "leader", "window", "new leader", "errors")))
	shown := ws
	if len(shown) > maxWindowRows {
		shown = shown[:maxWindowRows]
	}
	for _, w := range shown {
		leader := fmt.Sprintf("%d→%s", w.LeaderBefore, nodeOrDash(w.LeaderAfter))
		window, st := seconds(w.DurationS), lipgloss.Style{}
		if w.Open {
			window, st = "open", p.st.bad
		}
		elected := "-"
		if w.NewLeaderAfterS >= 0 {
			elected = seconds(w.NewLeaderAfterS)
		}
		row := fmt.Sprintf("  %-16s %-14s %4d  %-6s %8s  %10s", trunc(w.Scenario, 16), trunc(w.Fault, 14), w.Partition, leader, window, elected)
		text := errorCounts(w.Errors)
		if len(row)+2+len(text) <= lineWidth {
			p.line(st.Render(row), "  ", text)
			continue
		}
		p.line(st.Render(row))
		p.wrapped("      ", "", text, p.st.faint)
	}
	if rest := len(ws) - len(shown); rest > 0 {
		p.line(p.st.faint.Render(fmt.Sprintf("  … and %d more windows in the JSON report", rest)))
	}
}

// faultRuns writes sent/acked/lost/duplicated per producer mode, with what
// the guarantee table allows it.
func (p *printer) faultRuns(runs []FaultRun) {
	if len(runs) == 0 {
		return
	}
	p.section("Delivery through faults")
	p.line(p.st.label.Render(fmt.Sprintf("  %-15s %-20s %6s %6s %6s %5s %5s  %s", "scenario", "mode", "sent", "acked", "failed", "lost", "dup", "verdict")))
	for _, r := range runs {
		verdict, st := "ok", p.st.pass
		switch {
		case !r.Passed:
			verdict, st = "FAILED", p.st.fail
		case r.Lost > 0 || r.Duplicated > 0:
			verdict, st = "allowed", p.st.skip
		}
		p.line(fmt.Sprintf("  %-15s %-20s %6s %6s %6s %5s %5s  ", trunc(r.Scenario, 15), trunc(r.Mode, 20),
			commas(r.Sent), commas(r.Acked), commas(r.Failed), commas(r.Lost), commas(r.Duplicated)), st.Render(verdict))
	}
}

// guarantees writes the table of what each mode allows through one node failure.
func (p *printer) guarantees(gs []Guarantee) {
	if len(gs) == 0 {
		return
	}
	p.section("Guarantees (what each mode may lose or duplicate through one node failure)")
	p.line(p.st.label.Render(fmt.Sprintf("  %-4s %-10s %-4s %-8s %-10s  %s", "acks", "idempotent", "RF", "loss", "duplicates", "why")))
	for _, g := range gs {
		idem := "no"
		if g.Idempotent {
			idem = "yes"
		}
		row := fmt.Sprintf("  %-4s %-10s %-4s %-8s %-10s  ", g.Acks, idem, g.ReplicationFactor, g.Loss, g.Duplicates)
		p.wrapped(row, "", g.Why, p.st.faint)
	}
}

func nodeOrDash(id int32) string {
	if id < 0 {
		return "-"
	}
	return strconv.Itoa(int(id))
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// errorCounts renders error counts, most frequent first: "3 × NOT_LEADER_FOR_PARTITION".
func errorCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d × %s", m[k], k)
	}
	return strings.Join(parts, "; ")
}
