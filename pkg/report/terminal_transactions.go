package report

import "fmt"

// transactions writes the Transactions section: how the transactions ended,
// each partition's offsets as the two reads saw them, and every anomaly.
func (p *printer) transactions(t *Transactions) {
	if t == nil {
		return
	}
	p.section("Transactions")
	p.line(fmt.Sprintf("  %d producers, %s transactions: %s committed, %s aborted, %s unknown; %s records (seed %d)",
		t.Producers, commas(int64(t.Begun)), commas(int64(t.Committed)), commas(int64(t.Aborted)), commas(int64(t.Unknown)), commas(t.Records), t.Seed))
	for _, tp := range t.Partitions {
		lso := "none"
		if tp.LastStableOffset >= 0 {
			lso = commas(tp.LastStableOffset)
		}
		text := fmt.Sprintf("p%d offsets %s-%s, LSO %s: read_committed %s, read_uncommitted %s, filtered %s, markers %s",
			tp.Partition, commas(tp.LogStart), commas(tp.HighWatermark), lso, commas(tp.Committed), commas(tp.Uncommitted), commas(tp.Filtered), commas(tp.Markers))
		p.wrapped("  ", "", text, p.st.faint)
	}
	if len(t.Anomalies) == 0 {
		p.line("  " + p.st.pass.Render("no anomaly") + ": nothing lost, duplicated, aborted-read, partial, inconsistent or stuck")
		return
	}
	for _, a := range t.Anomalies {
		st, mark := p.st.fail, "✗ "
		if !a.Fails {
			st, mark = p.st.skip, "! "
		}
		p.wrapped("  ", mark, fmt.Sprintf("%s: %s", a.Name, commas(a.Count)), st)
		for _, e := range a.Examples {
			p.wrapped("      ", "", e, p.st.faint)
		}
	}
}
