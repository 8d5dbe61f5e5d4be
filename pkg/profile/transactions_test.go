package profile

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestEmbeddedTxnProfile: txn.yaml loads with its transactions section.
func TestEmbeddedTxnProfile(t *testing.T) {
	p, err := Load("txn")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(append(known, "transactions", "transactions-failover", "exactly-once")); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := Transactions{Producers: 3, Count: 100, Size: 10, AbortRatio: 0.3}
	if p.Transactions != want {
		t.Errorf("transactions = %+v, want %+v", p.Transactions, want)
	}
}

// TestTransactionsDefaultsAndProblems: a profile without the section gets
// the defaults; every bad value is a problem with its key and line.
func TestTransactionsDefaultsAndProblems(t *testing.T) {
	p, err := Parse("ok.yaml", []byte("name: ok\nscenarios: [produce]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Transactions != DefaultTransactions() {
		t.Errorf("transactions = %+v, want the defaults %+v", p.Transactions, DefaultTransactions())
	}
	bad := `name: bad
scenarios: [produce]
transactions:
  producers: 0
  count: 0
  size: 20000
  abort_ratio: 1.5
  seed: -1
`
	p, err = Parse("bad.yaml", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Validate(known)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a ValidationError", err)
	}
	got := ve.Error()
	for _, want := range []string{
		"bad.yaml:4: transactions.producers: must be 1..64, not 0",
		"bad.yaml:5: transactions.count: must be 1..100000 transactions per producer, not 0",
		"bad.yaml:6: transactions.size: must be 1..10000 records per transaction, not 20000",
		"bad.yaml:7: transactions.abort_ratio: must be a share from 0 (commit all) to 1 (abort all), not 1.5",
		"bad.yaml:8: transactions.seed: must be 0 (use faults.seed) or a positive number, not -1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems:\n%s\nwant a line %q", got, want)
		}
	}
	p, _ = Parse("big.yaml", []byte("name: big\nscenarios: [produce]\ntransactions: {producers: 64, count: 100000, size: 10}\n"))
	if err := p.Validate(known); err == nil || !strings.Contains(err.Error(), "producers × count × size is 64000000 records; the limit is 10000000") {
		t.Errorf("Validate = %v, want the record limit", err)
	}
}

// TestChronikTxnProfile: chronik-txn starts Chronik as chronik-3x3 does and runs the transactions scenario.
func TestChronikTxnProfile(t *testing.T) {
	p, err := Load("chronik-txn")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(append(known, "transactions")); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	base, err := Load("chronik-3x3")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Cluster, base.Cluster) {
		t.Errorf("chronik-txn's cluster differs from chronik-3x3's:\n%+v\n%+v", p.Cluster, base.Cluster)
	}
	if !slices.Contains(p.Scenarios, "transactions") || p.Transactions.Producers < 1 {
		t.Errorf("chronik-txn: scenarios %v, transactions %+v", p.Scenarios, p.Transactions)
	}
}
