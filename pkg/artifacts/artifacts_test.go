package artifacts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

func TestCheckAndOpen(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		base:                                   "",
		filepath.Join(base, "new"):             "",
		file:                                   "is a file, not a directory for the artifacts",
		filepath.Join(base, "no", "such", "x"): "there is no directory " + filepath.Join(base, "no", "such") + " to create the artifacts directory in",
	} {
		err := Check(path)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("Check(%s) = %v, want %q", path, err, want)
		}
	}
	d, err := Open(filepath.Join(base, "new"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := d.Run(3)
	if err != nil || run.Path != filepath.Join(base, "new", "run-3") {
		t.Fatalf("Run(3) = %+v, %v", run, err)
	}
	if st, err := os.Stat(run.Path); err != nil || !st.IsDir() {
		t.Errorf("run directory not created: %v", err)
	}
}

func TestLedgerCSVQuotes(t *testing.T) {
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	l.Record(scenarios.BadRecord{Kind: scenarios.RecordLost, Partition: 2, Offset: 17, Key: `key,"7"`, Seq: 7, Reads: 0})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(d.Path, LedgerFile))
	if want := "kind,partition,offset,key,sequence,reads\nlost,2,17,\"key,\"\"7\"\"\",7,0\n"; string(data) != want {
		t.Errorf("ledger.csv = %q, want %q", data, want)
	}
}

// BenchmarkLedgerCSV: the cost per bad record written, which bounds how long
// a run that lost millions of messages spends writing its ledger.
func BenchmarkLedgerCSV(b *testing.B) {
	d, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	l, err := d.Ledger()
	if err != nil {
		b.Fatal(err)
	}
	r := scenarios.BadRecord{Kind: scenarios.RecordLost, Partition: 11, Offset: 123456789, Key: "key-42", Seq: 4242, Reads: 0}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Seq = i
		l.Record(r)
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
}
