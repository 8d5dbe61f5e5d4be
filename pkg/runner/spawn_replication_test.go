//go:build unix

package runner_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// TestSpawnedISRHonest: on spawned nodes whose metadata drops a dead node
// from the in-sync replicas (and keeps it among the replicas), the ISR
// check judges the killed leader: it shrank, and grew back after the
// start, with both times in the report and each partition's on the
// timeline.
func TestSpawnedISRHonest(t *testing.T) {
	t.Parallel()
	b := startBackend(t, testbroker.WithReplication(testbroker.ReplicationHealthy))
	rep := run(t, spawnProfile(t, b, nil, "leader-failover"), nil)
	verdicts(t, rep, map[string]bool{"leader-failover": true})
	isr := isrOf(rep, "leader-failover")
	if len(isr) != 1 {
		t.Fatalf("ISR entries %+v, want one for the killed node", isr)
	}
	n := isr[0]
	if n.Node != 0 || n.Verdict != report.ISRShrank || n.ShrinkS < 0 || n.RestoreS < 0 || n.StartedAtS < n.ShrunkAtS || len(n.Partitions) != 3 {
		t.Errorf("ISR entry %+v: want node 0 shrunk, then restored after its start, over 3 partitions", n)
	}
	for _, p := range n.Partitions {
		if p.ShrunkAtS < 0 || p.RestoredAtS < p.ShrunkAtS {
			t.Errorf("partition %+v: want a shrink, then a restore", p)
		}
	}
	if m, ok := section(t, rep, "leader-failover").Metrics["isr_shrink_s"]; !ok || m != n.ShrinkS {
		t.Errorf("isr_shrink_s = %v (%v), want the shrink time %v", m, ok, n.ShrinkS)
	}
	got := kinds(rep, "leader-failover")
	for _, k := range []string{report.EventISRShrunk, report.EventISRGrew} {
		if !slices.Contains(got, k) {
			t.Errorf("no %s event on the timeline (kinds %v)", k, got)
		}
	}
}

// TestSpawnedISRNeverShrinks: metadata that keeps a killed node in every
// in-sync replica set fails leader-failover once faults.isr_timeout has
// passed, naming the node and the partitions.
func TestSpawnedISRNeverShrinks(t *testing.T) {
	t.Parallel()
	b := startBackend(t, testbroker.WithReplication(testbroker.ReplicationISRLies))
	rep := run(t, spawnProfile(t, b, func(p *profile.Profile) { p.Faults.ISRTimeout.Duration = time.Second }, "leader-failover"), nil)
	verdicts(t, rep, map[string]bool{"leader-failover": false})
	s := section(t, rep, "leader-failover")
	wantFinding(t, s, "ISR over-reports health: node 0 killed ", "s ago, still in ISR of partitions 0, 1, 2", "faults.isr_timeout 1s")
	if len(s.Findings) != 1 {
		t.Errorf("findings %q: want only the ISR's (nothing was lost)", s.Findings)
	}
	isr := isrOf(rep, "leader-failover")
	if len(isr) != 1 || isr[0].Verdict != report.ISROverReported || !slices.Equal(isr[0].StillInISR, []int32{0, 1, 2}) || isr[0].ShrinkS != -1 {
		t.Errorf("ISR entries %+v: want node 0 over-reported in partitions 0, 1, 2, never shrunk", isr)
	}
	if r := faultRun(t, rep, "leader-failover", "acks=all"); !r.Passed || r.Lost != 0 {
		t.Errorf("run %+v: the data is whole, only the ISR lies", r)
	}
}

// withPlacement gives the spawned test nodes of b a placement hook: this
// test binary asks the backend what the node holds.
func withPlacement(b *testbroker.Backend) func(*profile.Profile) {
	return func(p *profile.Profile) {
		p.Cluster.Spawn.Placement = fmt.Sprintf("%s=1 '%s' -test.run='^TestHelperBroker$' -- placement --backend %s --index {{.Index}} --topic {{.Topic}}",
			testbroker.HelperEnv, os.Args[0], b.URL())
	}
}

// TestSpawnedReplicationHealthy: on spawned nodes that replicate every
// write and report an honest ISR, the replication scenario passes at every
// acks level: every replica holds every record before the kill and after
// the restart, the ISR shrinks and grows back, the survivors serve it all.
func TestSpawnedReplicationHealthy(t *testing.T) {
	t.Parallel()
	b := startBackend(t, testbroker.WithReplication(testbroker.ReplicationHealthy))
	rep := run(t, spawnProfile(t, b, withPlacement(b), "replication"), nil)
	verdicts(t, rep, map[string]bool{"replication": true})
	s := section(t, rep, "replication")
	for _, acks := range []string{"0", "1", "all"} {
		r := faultRun(t, rep, "replication", "acks="+acks+", survivors")
		if !r.Passed || r.Sent == 0 || r.Lost != 0 {
			t.Errorf("run acks=%s: %+v", acks, r)
		}
		for _, when := range []string{"after producing", "after node 0 restarted"} {
			if got := notesWith(s, "replica placement acks="+acks+", "+when+": node ", " holds partitions 0 ("); len(got) != 3 {
				t.Errorf("acks=%s %s: placement notes %q, want one per node", acks, when, got)
			}
		}
	}
	// The backend serves followers' fetches (KIP-392): every follower was
	// read and matched its leader.
	if n := s.Metrics["replica_reads"]; n != 6 {
		t.Errorf("replica_reads = %v, want 6 (3 partitions × 2 followers, at the last acks level)", n)
	}
	if got := notesWith(s, "do not serve fetches from followers"); len(got) != 0 {
		t.Errorf("notes %q: every follower serves", got)
	}
	isr := isrOf(rep, "replication")
	if len(isr) != 3 {
		t.Fatalf("ISR entries %+v, want one per acks level", isr)
	}
	for _, n := range isr {
		if n.Verdict != report.ISRShrank || n.RestoreS < 0 {
			t.Errorf("ISR entry %+v: want shrunk and restored", n)
		}
	}
}

// TestSpawnedReplicationLeaderOnly: Chronik's #29 on spawned nodes: acks=1
// and acks=all writes stay on their leader while metadata lists every
// replica in sync. The placement check names the followers that lack the
// partitions; the read after the leader's kill finds the acknowledged
// records gone; acks=0, which replicates, passes both.
func TestSpawnedReplicationLeaderOnly(t *testing.T) {
	t.Parallel()
	b := startBackend(t, testbroker.WithReplication(testbroker.ReplicationLeaderOnly))
	rep := run(t, spawnProfile(t, b, func(p *profile.Profile) {
		withPlacement(b)(p)
		p.Faults.ISRTimeout.Duration = time.Second
		// Placement never converges: it waits faults.recovery_timeout
		// twice per acks level, past the harness's scenario deadline.
		p.Timeouts.Scenario.Duration = 3 * time.Minute
	}, "replication"), nil)
	verdicts(t, rep, map[string]bool{"replication": false})
	s := section(t, rep, "replication")
	for _, acks := range []string{"1", "all"} {
		// Node 1 leads partition 1 and is a replica of 0 and 2 (the assignment is p, p+1, p+2).
		wantFinding(t, s, "replica placement acks="+acks+", after producing: node 1 holds none of partitions 0, 2 of ", "though metadata lists it as a replica")
		r := faultRun(t, rep, "replication", "acks="+acks+", survivors")
		if r.Passed || r.Lost == 0 || r.LossAllowed {
			t.Errorf("run acks=%s %+v: want acknowledged records lost, not allowed", acks, r)
		}
		wantFinding(t, s, "acks="+acks+", survivors: ", " lost record(s)")
		// Read through node 1, a follower of partition 0, the records are not there.
		wantFinding(t, s, "reads through every replica acks="+acks+", after producing: node 1, a follower of partition 0, lacks ", "record(s) that leader node 0 serves: offsets 0-")
	}
	if got := findingsWith(s, "acks=0"); len(got) != 0 {
		t.Errorf("acks=0 replicates: findings %q", got)
	}
	if r := faultRun(t, rep, "replication", "acks=0, survivors"); !r.Passed {
		t.Errorf("run acks=0 %+v: want passed", r)
	}
	// The lie: the killed leader is still listed in sync.
	wantFinding(t, s, "ISR over-reports health: node 0 killed ")
	wantEvents(t, b, "leader-only replication: node 0 went down holding ")
	if t.Failed() {
		t.Logf("findings:\n%s", strings.Join(s.Findings, "\n"))
	}
}

// flipLastValueByte changes the last byte of the last record's value in
// batches (uncompressed record batches, the last record without headers)
// and recomputes that batch's CRC: a record other than the one written,
// at the same offset, that a client still decodes.
func flipLastValueByte(batches []byte) []byte {
	out := append([]byte(nil), batches...)
	last := -1
	for at := 0; at+61 <= len(out); {
		length := int(binary.BigEndian.Uint32(out[at+8 : at+12]))
		if at+12+length > len(out) {
			break
		}
		last, at = at, at+12+length
	}
	if last < 0 {
		return batches
	}
	end := last + 12 + int(binary.BigEndian.Uint32(out[last+8:last+12]))
	out[end-2] ^= 0x01 // before the record's header count (0)
	crc := crc32.Checksum(out[last+21:end], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(out[last+17:last+21], crc)
	return out
}

// TestSpawnedReplicaReadsDiffer: a follower that serves, at one offset, a
// record other than its leader's fails the replication scenario naming the
// replica, the partition and the offset; nothing else fails.
func TestSpawnedReplicaReadsDiffer(t *testing.T) {
	t.Parallel()
	b := startBackend(t, testbroker.WithReplication(testbroker.ReplicationHealthy))
	b.OnFollowerFetch(func(node int, topic string, p int32, batches []byte) []byte {
		if node == 1 && p == 0 { // a follower of partition 0, led by node 0
			return flipLastValueByte(batches)
		}
		return batches
	})
	rep := run(t, spawnProfile(t, b, withPlacement(b), "replication"), nil)
	verdicts(t, rep, map[string]bool{"replication": false})
	s := section(t, rep, "replication")
	for _, acks := range []string{"0", "1", "all"} {
		wantFinding(t, s, "reads through every replica acks="+acks+", after producing: node 1, a follower of partition 0, holds records other than leader node 0's at offsets ")
	}
	if len(s.Findings) != 3 {
		t.Errorf("findings %q: want only the three replica reads'", s.Findings)
	}
}

// TestSpawnedConsumeReplicaReads: with workload.replica_reads, consume also
// reads every partition from every replica; a follower serving a record
// other than its leader's at one offset fails consume naming the replica,
// the partition and the offset, though the leader's copy read back intact.
func TestSpawnedConsumeReplicaReads(t *testing.T) {
	t.Parallel()
	b := startBackend(t, testbroker.WithReplication(testbroker.ReplicationHealthy))
	b.OnFollowerFetch(func(node int, topic string, p int32, batches []byte) []byte {
		if node == 2 && p == 1 { // a follower of partition 1, led by node 1
			return flipLastValueByte(batches)
		}
		return batches
	})
	rep := run(t, spawnProfile(t, b, func(p *profile.Profile) { p.Workload.ReplicaReads = true }, "topic-create", "produce", "consume"), nil)
	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": false})
	s := section(t, rep, "consume")
	wantFinding(t, s, "reads through every replica after consuming: node 2, a follower of partition 1, holds records other than leader node 1's at offsets ")
	if d := rep.Delivery; d.Lost+d.Duplicated+d.Unexpected != 0 || d.Consumed != d.Acked {
		t.Errorf("delivery %+v: the leaders' copies read back whole", d)
	}
	if s.Metrics["replica_reads"] != 6 {
		t.Errorf("replica_reads = %v, want 6 (3 partitions × 2 followers)", s.Metrics["replica_reads"])
	}
}

// TestSpawnedTransactionsReadCommittedReplicas: the transactions scenario
// reads read_committed through every replica; a follower serving a record
// other than its leader's fails it naming the replica.
func TestSpawnedTransactionsReadCommittedReplicas(t *testing.T) {
	t.Parallel()
	b := startBackend(t, testbroker.WithReplication(testbroker.ReplicationHealthy))
	b.OnFollowerFetch(func(node int, topic string, p int32, batches []byte) []byte {
		if node == 1 && p == 0 && strings.Contains(topic, "-txn") { // a follower of partition 0, led by node 0
			return flipLastValueByte(batches)
		}
		return batches
	})
	rep := run(t, spawnProfile(t, b, nil, "transactions"), nil)
	verdicts(t, rep, map[string]bool{"transactions": false})
	wantFinding(t, section(t, rep, "transactions"), "reads through every replica at read_committed: node 1, a follower of partition 0, holds records other than leader node 0's at offsets ")
}
