package report

import (
	"fmt"
	"strings"
)

// losses writes the lost messages grouped by partition and cause.
func (p *printer) losses(ls []Loss) {
	if len(ls) == 0 {
		return
	}
	p.line("  lost by cause:")
	for _, l := range ls {
		offs := fmt.Sprintf("offset %d", l.FirstOffset)
		if l.LastOffset != l.FirstOffset {
			offs = fmt.Sprintf("offsets %d-%d", l.FirstOffset, l.LastOffset)
		}
		p.line("    ", fmt.Sprintf("partition %d: ", l.Partition), p.st.bad.Render(commas(l.Count)), fmt.Sprintf(" %s (%s)", l.Cause, offs))
		if l.Detail != "" {
			p.wrapped("      ", "", l.Detail, p.st.faint)
		}
	}
}

// audit writes the Final audit section: whether the topic settled, what
// appeared late, what went wrong at the end of each partition.
func (p *printer) audit(a *Audit) {
	if a == nil {
		return
	}
	p.section("Final audit")
	if a.Settled {
		p.line("  quiet: end offsets unchanged for timeouts.settle (waited " + seconds(a.SettleS) + ")")
	} else {
		p.line("  " + p.st.fail.Render("the topic did not settle") + " within " + seconds(a.SettleS))
	}
	late := "no record appeared after producing stopped"
	if a.LateRecords > 0 {
		late = fmt.Sprintf("%s record(s) appeared after producing stopped, read and checked like the others", commas(a.LateRecords))
	}
	p.line("  " + late)
	var moved []string
	for _, ap := range a.Partitions {
		if ap.End != ap.ReadEnd || ap.LogStart > 0 || ap.Late > 0 {
			moved = append(moved, fmt.Sprintf("p%d log start %s, end %s (read to %s)", ap.Partition, commas(ap.LogStart), commas(ap.End), commas(ap.ReadEnd)))
		}
	}
	if len(moved) > 0 {
		p.wrapped("  ", "", strings.Join(moved, "; "), p.st.faint)
	}
	for _, f := range a.Findings {
		p.wrapped("  ", "✗ ", f, p.st.fail)
	}
}
