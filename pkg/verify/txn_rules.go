package verify

// Visibility is what a reader at one isolation level must see of a
// transaction's records, by how the transaction ended.
type Visibility uint8

// Visibilities.
const (
	MustSee    Visibility = iota // every record, once
	MustNotSee                   // none
	AllOrNone                    // every record once, or none
	MaySee                       // any of them: not failed (aborted ones missing are reported)
)

// String names the visibility for the table: "all, once".
func (v Visibility) String() string {
	switch v {
	case MustSee:
		return "all, once"
	case MustNotSee:
		return "none"
	case AllOrNone:
		return "all or none"
	case MaySee:
		return "any"
	}
	return "invalid"
}

// Visible is the rule the transactional tally judges every record by: what
// a reader (committed: read_committed) must see of a transaction that
// ended as o.
func Visible(o Outcome, committed bool) Visibility {
	switch {
	case o == TxnCommitted:
		return MustSee
	case !committed:
		return MaySee // aborted or undecided records are in the log, or were never written
	case o == TxnAborted:
		return MustNotSee
	}
	return AllOrNone // unknown or never ended: the coordinator decided one way or the other
}

// TxnGuarantee is one row of the transactional guarantee table.
type TxnGuarantee struct {
	Reader  string // read_committed or read_uncommitted
	Outcome Outcome
	Visible Visibility
	Why     string
}

// TxnTable is the transactional guarantee table, from the rule Visible
// judges by. Faults change none of it: a transaction whose producer or
// coordinator died while it was open ends committed or aborted, whole.
func TxnTable() []TxnGuarantee {
	why := map[[2]any]string{
		{TxnCommitted, true}:  "the commit marker makes every record visible at once: a missing one is lost, one read twice a duplicate, some without the others a partial transaction",
		{TxnAborted, true}:    "the abort marker hides every record: one read is an aborted read",
		{TxnUnknown, true}:    "committing or aborting failed (a fault, a timeout): the coordinator ended it one way, so all or none, never part",
		{TxnCommitted, false}: "read_uncommitted reads every record written: a missing one is lost",
		{TxnAborted, false}:   "aborted records are in the log until removed: a broker that drops them is reported, not failed",
		{TxnUnknown, false}:   "written or not, as each produce went: not judged",
	}
	var out []TxnGuarantee
	for _, committed := range []bool{true, false} {
		for _, o := range []Outcome{TxnCommitted, TxnAborted, TxnUnknown} {
			out = append(out, TxnGuarantee{Reader: Level(committed), Outcome: o, Visible: Visible(o, committed), Why: why[[2]any{o, committed}]})
		}
	}
	return out
}
