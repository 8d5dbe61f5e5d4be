package scenarios

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// testKit returns a fault kit for scenario name on an embedded cluster of
// three nodes, its topic created, closed when the test ends.
func testKit(t *testing.T, name string) *faultKit {
	t.Helper()
	c, err := cluster.StartEmbedded(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p := profile.Default()
	p.Faults.ElectionTimeout.Duration = 10 * time.Second
	env, err := NewEnv(p, c, report.New(t.Name(), "test", time.Now()), "t", 1, sarama.V3_6_0_0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	for _, b := range env.Client.Brokers() {
		env.Report.Cluster.Brokers = append(env.Report.Cluster.Brokers, report.Broker{ID: b.ID(), Addr: b.Addr()})
	}
	k, err := newFaultKit(env, NewStep(&report.Scenario{Name: name}), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.done(context.Background()) })
	if err := k.createTopic(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestOrphansFound: acks=1 records a leader acknowledged and kept (here a
// leader that was never cut off: its "orphans" are applied) are found on
// the broker that serves them, and divergence fails naming the node, the
// partition and the offsets; records of another run are not orphans.
func TestOrphansFound(t *testing.T) {
	k := testKit(t, "divergence")
	ctx := context.Background()
	s := &stream{exp: verify.Expect{RunID: 42, Keys: workload.Keys(10)}}
	leader := k.watch.snapshot().leaderOf(1)
	orphans := k.writeOrphans(ctx, s, k.node(leader), []int32{1})
	if len(orphans) != orphansPerPartition || orphans[0].offset != 0 || orphans[len(orphans)-1].offset != orphansPerPartition-1 {
		t.Fatalf("orphans %+v: want %d acknowledged at offsets 0-%d", orphans, orphansPerPartition, orphansPerPartition-1)
	}
	if err := k.findOrphans(ctx, leader, orphans); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(k.step.rep.Findings, "\n")
	want := "divergence: node " + nodeOrNone(leader) + " serves 20 orphan record(s) of partition 1 at offsets 0-19"
	if !strings.Contains(got, want) {
		t.Errorf("findings:\n%s\nwant %q", got, want)
	}
	// Another run's records at the same offsets are not these orphans.
	k.step.rep.Findings = nil
	other := make([]orphan, len(orphans))
	for i, o := range orphans {
		other[i] = orphan{partition: o.partition, offset: o.offset, hash: o.hash + 1}
	}
	if err := k.findOrphans(ctx, leader, other); err != nil {
		t.Fatal(err)
	}
	if len(k.step.rep.Findings) > 0 {
		t.Errorf("records of no orphan found: %q", k.step.rep.Findings)
	}
	if m := k.step.rep.Metrics; m["orphans_acked"] != orphansPerPartition || m["orphan_replicas_searched"] == 0 {
		t.Errorf("metrics %v", m)
	}
}

// TestLiveReadsChecked: a record read during the faults must still be in
// the log at its offset: one that differs, or one past the log's end, fails
// naming the partition and offsets; one that matches does not.
func TestLiveReadsChecked(t *testing.T) {
	k := testKit(t, "nemesis")
	ctx := context.Background()
	s := &stream{exp: verify.Expect{RunID: 7, Keys: workload.Keys(10)}}
	leader := k.watch.snapshot().leaderOf(2)
	written := k.writeOrphans(ctx, s, k.node(leader), []int32{2})
	lr := &liveReader{k: k, topic: k.topic, errors: map[string]int64{}, cancel: func() {}, seen: map[int32]map[int64]uint64{
		2: {0: written[0].hash, 1: written[1].hash + 1, 3: written[3].hash, 50: 99},
	}}
	if err := lr.check(ctx); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(k.step.rep.Findings, "\n")
	for _, want := range []string{
		"reads through the faults: partition 2 served 1 record(s) during the faults at offsets 50 that its log no longer holds",
		"reads through the faults: partition 2 served other records during the faults at offsets 1 than its log holds now",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings:\n%s\nwant %q", got, want)
		}
	}
	if len(k.step.rep.Findings) != 2 {
		t.Errorf("%d findings, want 2: %q", len(k.step.rep.Findings), k.step.rep.Findings)
	}
}
