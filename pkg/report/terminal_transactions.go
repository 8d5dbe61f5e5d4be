package report

import "fmt"

// transactions writes a Transactions section per transactional scenario.
func (p *printer) transactions(ts []*Transactions) {
	for _, t := range ts {
		p.transaction(t)
	}
}

// transaction writes one Transactions section: how the transactions ended,
// each partition's offsets as the two reads saw them, and every anomaly.
func (p *printer) transaction(t *Transactions) {
	p.section("Transactions (" + t.Scenario + ")")
	if t.Faults != "" {
		p.wrapped("  ", "", "faults: "+t.Faults, p.st.faint)
	}
	seed := ""
	if t.Seed != 0 {
		seed = fmt.Sprintf(" (seed %d)", t.Seed)
	}
	p.line(fmt.Sprintf("  %d producers, %s transactions: %s committed, %s aborted, %s unknown; %s records%s",
		t.Producers, commas(int64(t.Begun)), commas(int64(t.Committed)), commas(int64(t.Aborted)), commas(int64(t.Unknown)), commas(t.Records), seed))
	for _, tp := range t.Partitions {
		lso := "none"
		if tp.LastStableOffset >= 0 {
			lso = commas(tp.LastStableOffset)
		}
		text := fmt.Sprintf("p%d offsets %s-%s, LSO %s: read_committed %s, read_uncommitted %s, filtered %s, markers %s",
			tp.Partition, commas(tp.LogStart), commas(tp.HighWatermark), lso, commas(tp.Committed), commas(tp.Uncommitted), commas(tp.Filtered), commas(tp.Markers))
		p.wrapped("  ", "", text, p.st.faint)
	}
	if t.Unknown > 0 {
		p.line(fmt.Sprintf("  %d of %d transaction(s) of unknown outcome read_committed showed committed", t.UnknownVisible, t.Unknown))
	}
	if len(t.Anomalies) == 0 {
		p.line("  " + p.st.pass.Render("no anomaly") + ": nothing lost, duplicated, aborted-read, partial, inconsistent or stuck")
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
	p.txnGuarantees(t.Guarantees)
}

// txnGuarantees writes what each reader must see of a transaction, by how it ended.
func (p *printer) txnGuarantees(gs []TxnGuarantee) {
	if len(gs) == 0 {
		return
	}
	p.blank()
	p.line("  What each reader must see of a transaction (faults change none of it)")
	p.line(p.st.label.Render(fmt.Sprintf("  %-16s %-9s %-11s  %s", "reader", "ended", "visible", "why")))
	for _, g := range gs {
		p.wrapped(fmt.Sprintf("  %-16s %-9s %-11s  ", g.Reader, g.Outcome, g.Visible), "", g.Why, p.st.faint)
	}
}
