package runner_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/artifacts"
	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// loggingCluster is an embedded cluster whose nodes "write logs", as a
// spawned cluster's do: it stands in for spawn mode in the node-log hook.
type loggingCluster struct {
	*cluster.Embedded
	closed bool
}

func (c *loggingCluster) CopyLogs(dir string) error {
	if c.closed {
		return fmt.Errorf("logs copied after the cluster was closed")
	}
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("node-%d.log", i)), []byte("started\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

var _ cluster.NodeLogs = (*loggingCluster)(nil)

// TestArtifactsLedger: the artifacts' ledger CSV lists every lost and every
// duplicated message, with the partition and offset it was acknowledged at,
// its key and sequence number, exactly as many as the report counts; node
// logs are copied before the cluster is left.
func TestArtifactsLedger(t *testing.T) {
	t.Parallel()
	const cut, dups = 10, 5
	c := &loggingCluster{Embedded: startEmbedded(t, 3)}
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		again, err := readCopies(ctx, env, 1, dups)
		if err != nil {
			return err
		}
		if err := writeBehind(ctx, env, again...); err != nil {
			return err
		}
		return c.Kfake().DeleteRecords(env.Topic, 0, cut)
	})
	p := smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", hookName, "consume", "metadata"))
	dir, err := artifacts.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := dir.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	rep, err := runner.Run(ctx, runner.Options{
		Profile: p, Cluster: c, Records: ledger,
		BeforeClose: func(cl cluster.Cluster) {
			if err := dir.CopyNodeLogs(cl); err != nil {
				t.Error(err)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.closed = true
	if err := ledger.Close(); err != nil {
		t.Fatal(err)
	}
	if d := rep.Delivery; d.Lost != cut || d.Duplicated != dups {
		t.Fatalf("delivery %+v, want %d lost and %d duplicated", d, cut, dups)
	}

	f, err := os.Open(filepath.Join(dir.Path, artifacts.LedgerFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || !reflect.DeepEqual(rows[0], artifacts.LedgerHeader) {
		t.Fatalf("header %v, want %v", rows[:min(1, len(rows))], artifacts.LedgerHeader)
	}
	if got := int64(len(rows) - 1); got != ledger.Rows() || got != cut+dups {
		t.Fatalf("%d rows (the sink counted %d), want %d", got, ledger.Rows(), cut+dups)
	}
	lostOffsets := map[int64]bool{}
	for _, row := range rows[1:] {
		kind, key := row[0], row[3]
		partition, _ := strconv.Atoi(row[1])
		offset, _ := strconv.ParseInt(row[2], 10, 64)
		seq, _ := strconv.Atoi(row[4])
		reads, _ := strconv.Atoi(row[5])
		if want := fmt.Sprintf("key-%d", seq%p.Workload.Keys); key != want {
			t.Errorf("row %v: key %s, want %s for sequence %d", row, key, want, seq)
		}
		switch kind {
		case scenarios.RecordLost:
			if partition != 0 || offset < 0 || offset >= cut || reads != 0 || lostOffsets[offset] {
				t.Errorf("lost row %v: want a distinct offset of partition 0 below %d, never read", row, cut)
			}
			lostOffsets[offset] = true
		case scenarios.RecordDuplicated:
			if partition != 1 || offset < 0 || offset >= dups || reads != 2 {
				t.Errorf("duplicated row %v: want one of the first %d offsets of partition 1, read twice", row, dups)
			}
		default:
			t.Errorf("row %v: unexpected kind %q", row, kind)
		}
	}

	for i := range 3 {
		if _, err := os.Stat(filepath.Join(dir.Path, artifacts.NodesDir, fmt.Sprintf("node-%d.log", i))); err != nil {
			t.Errorf("node log: %v", err)
		}
	}
}

// TestArtifactsWriteRun: every format of a run's report lands in the directory.
func TestArtifactsWriteRun(t *testing.T) {
	t.Parallel()
	rep := run(t, smallProfile(t, 1, 1, 1, nil), startEmbedded(t, 1))
	dir, err := artifacts.Open(filepath.Join(t.TempDir(), "new"))
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.WriteRun(rep); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{artifacts.JSONFile, artifacts.JUnitFile, artifacts.MarkdownFile, artifacts.TextFile, artifacts.MetricsFile} {
		st, err := os.Stat(filepath.Join(dir.Path, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", name, err)
		}
	}
	// A cluster without node logs leaves no nodes directory.
	if err := dir.CopyNodeLogs(startEmbedded(t, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir.Path, artifacts.NodesDir)); !os.IsNotExist(err) {
		t.Errorf("nodes directory for an embedded cluster: %v", err)
	}
}
