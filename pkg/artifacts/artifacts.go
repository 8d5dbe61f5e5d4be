// Package artifacts keeps everything a person needs after a run in one
// directory (--artifacts DIR): the report in every format, the metrics as
// CSV, the ledger of lost and duplicated messages as CSV, and the nodes' logs
// when the runner started the nodes.
package artifacts

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// File names inside an artifacts directory.
const (
	JSONFile     = "report.json"
	JUnitFile    = "junit.xml"
	MarkdownFile = "report.md"
	TextFile     = "report.txt" // the terminal report, without colour
	MetricsFile  = "metrics.csv"
	SpreadFile   = "spread.csv" // a repeat's min/median/max per metric
	LedgerFile   = "ledger.csv"
	PanicFile    = "panic.txt" // the stacks of the run's internal errors, when it had any
	NodesDir     = "nodes"
)

// Dir is an artifacts directory.
type Dir struct {
	Path string
}

// Check fails when path cannot be an artifacts directory: it is a file, or
// its parent does not exist. Better said before a long run than after.
func Check(path string) error {
	st, err := os.Stat(path)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("%s is a file, not a directory for the artifacts", path)
	case err == nil:
		return nil
	case !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("artifacts directory %s: %w", path, err)
	}
	parent := filepath.Dir(path)
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: there is no directory %s to create the artifacts directory in", path, parent)
	}
	return nil
}

// Open creates the directory at path if it does not exist.
func Open(path string) (*Dir, error) {
	if err := Check(path); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("create artifacts directory: %w", err)
	}
	return &Dir{Path: path}, nil
}

// Run returns the subdirectory of run i (1-based) of a repeat: DIR/run-1, ...
func (d *Dir) Run(i int) (*Dir, error) {
	return Open(filepath.Join(d.Path, fmt.Sprintf("run-%d", i)))
}

// file returns the path of name inside d.
func (d *Dir) file(name string) string { return filepath.Join(d.Path, name) }

// WriteRun writes r in every format: JSON, JUnit, Markdown, the plain
// terminal report, its metrics as CSV, and the stacks of its internal
// errors when it had any.
func (d *Dir) WriteRun(r *report.Report) error {
	return errors.Join(
		r.WriteJSON(d.file(JSONFile)),
		report.WriteJUnitFile(d.file(JUnitFile), r, nil),
		report.WriteMarkdownFile(d.file(MarkdownFile), r, nil, false),
		d.writeText(func(w io.Writer) error { return report.Render(w, r, nil) }),
		d.writeCSV(MetricsFile, metricRows(r)),
		d.writePanics(r.InternalErrors),
	)
}

// writePanics writes panic.txt: each internal error and its full stack.
func (d *Dir) writePanics(es []report.InternalError) error {
	if len(es) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: please report it with this file.\n", report.InternalErrorText)
	for _, e := range es {
		fmt.Fprintf(&b, "\ninternal error in %s\n\n%s\n", e.Title(), strings.TrimRight(e.Stack, "\n"))
	}
	if err := os.WriteFile(d.file(PanicFile), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", PanicFile, err)
	}
	return nil
}

// WriteRepeat writes a repeat in every format, and its spread as CSV; each
// run's own artifacts go to its run-N subdirectory (WriteRun).
func (d *Dir) WriteRepeat(rep *report.Repeat) error {
	return errors.Join(
		rep.WriteJSON(d.file(JSONFile)),
		report.WriteJUnitFile(d.file(JUnitFile), nil, rep),
		report.WriteMarkdownFile(d.file(MarkdownFile), nil, rep, false),
		d.writeText(func(w io.Writer) error { return report.RenderRepeat(w, rep, nil) }),
		d.writeCSV(SpreadFile, spreadRows(rep.Spread)),
	)
}

// CopyNodeLogs copies the nodes' logs of c into d/nodes, when c is a cluster
// whose nodes write logs; otherwise it does nothing.
func (d *Dir) CopyNodeLogs(c cluster.Cluster) error {
	nl, ok := c.(cluster.NodeLogs)
	if !ok {
		return nil
	}
	dir := d.file(NodesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("node logs: %w", err)
	}
	if err := nl.CopyLogs(dir); err != nil {
		return fmt.Errorf("copy node logs into %s: %w", dir, err)
	}
	return nil
}

func (d *Dir) writeText(render func(io.Writer) error) error {
	f, err := os.Create(d.file(TextFile))
	if err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	w := bufio.NewWriter(f)
	err = errors.Join(render(w), w.Flush(), f.Close())
	if err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	return nil
}

func (d *Dir) writeCSV(name string, rows [][]string) error {
	f, err := os.Create(d.file(name))
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	w := csv.NewWriter(f)
	_ = w.WriteAll(rows) // WriteAll flushes; its error is w.Error()
	if err := errors.Join(w.Error(), f.Close()); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// metricRows are the rows of metrics.csv: every metric the run measured.
func metricRows(r *report.Report) [][]string {
	rows := [][]string{{"metric", "unit", "value"}}
	values := gate.Values(r)
	for _, m := range gate.Metrics() {
		if v, ok := values[m.Name]; ok {
			rows = append(rows, []string{m.Name, m.Unit, formatFloat(v)})
		}
	}
	return rows
}

// spreadRows are the rows of spread.csv.
func spreadRows(ss []report.Spread) [][]string {
	rows := [][]string{{"metric", "unit", "runs", "min", "median", "max"}}
	for _, s := range ss {
		rows = append(rows, []string{s.Metric, s.Unit, strconv.Itoa(s.Runs), formatFloat(s.Min), formatFloat(s.Median), formatFloat(s.Max)})
	}
	return rows
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// LedgerCSV writes the bad records of a run to ledger.csv as the consume
// scenario finds them: one row per record, streamed, whatever the count.
type LedgerCSV struct {
	mu   sync.Mutex
	f    *os.File
	w    *csv.Writer
	rows int64
}

var _ scenarios.RecordSink = (*LedgerCSV)(nil)

// LedgerHeader is the first row of ledger.csv.
var LedgerHeader = []string{"kind", "partition", "offset", "key", "sequence", "reads"}

// Ledger creates d/ledger.csv, with its header row, for the records of a run.
func (d *Dir) Ledger() (*LedgerCSV, error) {
	f, err := os.Create(d.file(LedgerFile))
	if err != nil {
		return nil, fmt.Errorf("create ledger CSV: %w", err)
	}
	l := &LedgerCSV{f: f, w: csv.NewWriter(f)} // csv.Writer buffers
	if err := l.w.Write(LedgerHeader); err != nil {
		f.Close()
		return nil, fmt.Errorf("write ledger CSV: %w", err)
	}
	return l, nil
}

// Record writes one bad record; a write error shows when Close is called.
func (l *LedgerCSV) Record(r scenarios.BadRecord) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.w.Write([]string{r.Kind, strconv.Itoa(int(r.Partition)), strconv.FormatInt(r.Offset, 10),
		r.Key, strconv.Itoa(r.Seq), strconv.Itoa(r.Reads)})
	l.rows++
}

// Rows is the number of records written.
func (l *LedgerCSV) Rows() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rows
}

// Close flushes and closes the file.
func (l *LedgerCSV) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	if err := errors.Join(l.w.Error(), l.f.Close()); err != nil {
		return fmt.Errorf("write ledger CSV: %w", err)
	}
	return nil
}
