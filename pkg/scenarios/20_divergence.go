package scenarios

// divergence is Chronik's own RP-3.3 test, which it runs by hand with a
// Kubernetes NetworkPolicy. It writes a common prefix with acks=all to its
// own topic, cuts the node leading the most partitions (faults.target) off
// from its peers but not from the runner, waits until its answers to the
// producer's acks=all writes fail (or another leader is elected), writes
// records with acks=1
// straight to it for the partitions it led (records only the isolated
// leader has: orphans), waits for a new leader on the majority side, whose
// acks=all records from the continuous producer take the same offsets,
// heals, and then reads every replica.
//
// Fails: on a record acknowledged by the new leader (or in the prefix) that
// is not read back at its offset (the judge and the final audit); on any
// orphan readable from any broker, named by partition, offset and broker;
// on replicas whose logs differ, offset by offset: two logs that agree on
// offsets and disagree on records is the exact failure leader epochs exist
// to prevent; on an isolated leader that keeps acknowledging acks=all
// writes faults.election_timeout after the cut; on a partition still led by
// the isolated node
// faults.election_timeout after the cut; on the node not back in every
// in-sync replica set faults.recovery_timeout after the heal.
// Measures: orphans written and acknowledged, the offsets the new leader
// wrote over them, elections, unavailability windows.
// Not applicable: without a network controller, with fewer than 3 nodes or
// replication factor below 3, with a protocol older than Kafka 0.11
// (record batches).
// Cannot detect: a replica's divergence where the brokers do not serve
// fetches from followers (KIP-392): then only the leaders' logs are read,
// and the report says so; an isolated leader that refuses acks=1 writes
// leaves nothing to diverge (the report says so, and the rest is checked).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// orphansPerPartition is how many acks=1 records divergence writes to the
// isolated leader, per partition it led.
const orphansPerPartition = 20

// orphanRunXor makes the orphans' run id: not the stream's, so that the
// read back counts a readable orphan as a record of another run.
const orphanRunXor = 0x0badc0ffee0ddf00

func init() {
	Register(faultScenario{
		name:     "divergence",
		summary:  "isolate a leader, write acks=1 orphans to it and acks=all records to the new leader at the same offsets, heal: no orphan readable, every replica the same log",
		network:  true,
		minNodes: 3, minRF: 3, needs: "the isolated leader's peers must elect a new one",
		body: divergence,
	})
}

// orphan is one record the isolated leader was sent, and what it answered.
type orphan struct {
	partition int32
	offset    int64 // -1 unless acknowledged
	hash      uint64
}

func divergence(ctx context.Context, k *faultKit) error {
	if !k.env.Version.IsAtLeast(sarama.V0_11_0_0) {
		return NotApplicable("divergence writes record batches, which the protocol version %s (older than Kafka 0.11) has not", k.env.Version)
	}
	// The common prefix: acknowledged by every in-sync replica.
	s, err := k.warmStream(ctx, "divergence")
	if err != nil {
		return err
	}
	target, why, err := k.pickTarget(false)
	if err != nil {
		return err
	}
	led := k.watch.snapshot().ledBy()[target.ID]
	if len(led) == 0 {
		k.step.Failf("node %d (%s) leads no partition of %s: there is no leader to isolate (faults.target %s)", target.ID, why, k.topic, k.cfg.Target)
		return nil
	}
	k.step.Notef("partition node %d from its peers, not from the runner: it %s; it led partitions %v of %s", target.ID, why, led, k.topic)
	label := fmt.Sprintf("partition node %d", target.ID)
	at, err := k.cut(ctx, label, target.ID, isolateLinks(k.links(), target.ID))
	if err != nil {
		return err
	}
	// The orphans go to a leader that knows it cannot replicate: once its
	// answers to the producer's acks=all writes fail (or the majority has
	// elected another). One that keeps acknowledging them with its peers
	// cut off and no one elected lets a split brain through.
	k.watch.setAvoid([]int32{target.ID}) // its own metadata may still show it leading
	if err := s.awaitStall(ctx, led, target.ID, at, k.cfg.ElectionTimeout.Duration); err != nil {
		if ctx.Err() != nil {
			return err
		}
		k.step.Failf("divergence: isolated node %d kept acknowledging acks=all writes with its peers cut off: %v (faults.election_timeout)", target.ID, err)
		return nil
	}
	orphans := k.writeOrphans(ctx, s, target, led)
	elected, err := k.awaitLeaders(ctx, at, target.ID)
	if err != nil || !elected {
		return err
	}
	// The new leaders' acks=all records, at the offsets the orphans took.
	elections := time.Now()
	if err := s.awaitAcks(ctx, elections, k.cfg.ElectionTimeout.Duration, "after the election on the majority side"); err != nil {
		if ctx.Err() != nil {
			return err
		}
		k.step.Failf("acks=all on the majority side: %v", err)
	}
	if err := k.settle(ctx); err != nil {
		return err
	}
	s.drain(ctx)
	k.noteOverwrites(s, orphans)
	healed, err := k.heal(ctx)
	if err != nil {
		return err
	}
	k.watch.setAvoid(nil)
	if err := k.awaitBack(ctx, target.ID, healed); err != nil {
		return err
	}
	k.noteLeaders([]int32{target.ID})
	if err := k.finish(ctx, s, judged{leaderHit: true, label: "acks=all, prefix and new leader"}); err != nil {
		return err
	}
	if err := k.findOrphans(ctx, target.ID, orphans); err != nil {
		return err
	}
	return k.readReplicas(ctx, "after the heal")
}

// writeOrphans sends orphansPerPartition records with acks=1 straight to
// the isolated node for each partition it led, one batch per partition,
// and returns them with the offsets it acknowledged.
func (k *faultKit) writeOrphans(ctx context.Context, s *stream, target cluster.Node, led []int32) []orphan {
	cfg := k.env.Config()
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = 5*time.Second, 10*time.Second, 10*time.Second
	b := sarama.NewBroker(target.Addr)
	if err := b.Open(cfg); err != nil {
		k.step.Notef("orphans: could not connect to the isolated node %d at %s: %v; nothing to diverge", target.ID, target.Addr, err)
		return nil
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = b.Close() })
	run := s.exp.RunID ^ orphanRunXor
	keys := s.exp.Keys
	var out []orphan
	acked, refused := 0, map[string]int64{}
	for _, p := range led {
		now := time.Now()
		batch := &sarama.RecordBatch{Version: 2, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
			FirstTimestamp: now, MaxTimestamp: now, LastOffsetDelta: orphansPerPartition - 1}
		hashes := make([]uint64, orphansPerPartition)
		for i := range orphansPerPartition {
			key := keys[i%len(keys)]
			value := make([]byte, k.env.Profile.Workload.ValueBytes)
			workload.Encode(value, workload.Payload{RunID: run, Seq: uint64(int(p)*orphansPerPartition + i), Key: uint32(i % len(keys))}, key)
			batch.Records = append(batch.Records, &sarama.Record{OffsetDelta: int64(i), Key: key, Value: value})
			hashes[i] = recordHash(key, value)
		}
		req := &sarama.ProduceRequest{RequiredAcks: sarama.WaitForLocal, Timeout: int32(k.cfg.ElectionTimeout.Milliseconds()), Version: 3}
		req.AddBatch(k.topic, p, batch)
		resp, err := within(ctx, func() (*sarama.ProduceResponse, error) { return b.Produce(req) })
		base, why := int64(-1), ""
		var block *sarama.ProduceResponseBlock
		if err == nil {
			block = resp.GetBlock(k.topic, p)
		}
		switch {
		case err != nil:
			why = err.Error()
		case block == nil:
			why = "no answer for the partition"
		case block.Err != sarama.ErrNoError:
			why = verify.ErrorName(block.Err, "1")
		default:
			base = block.Offset
		}
		for i, h := range hashes {
			off := int64(-1)
			if base >= 0 {
				off = base + int64(i)
			}
			out = append(out, orphan{partition: p, offset: off, hash: h})
		}
		if base >= 0 {
			acked += orphansPerPartition
			k.event(time.Now(), report.EventOrphans, target.ID, p, "the isolated node acknowledged %d acks=1 records at offsets %d-%d", orphansPerPartition, base, base+orphansPerPartition-1)
		} else {
			refused[why] += orphansPerPartition
			k.event(time.Now(), report.EventOrphans, target.ID, p, "the isolated node refused %d acks=1 records: %s", orphansPerPartition, why)
		}
	}
	k.step.Metric("orphans_sent", float64(len(out)))
	k.step.Metric("orphans_acked", float64(acked))
	if acked == 0 {
		k.step.Notef("orphans: the isolated node %d acknowledged none of %d acks=1 records (%s): nothing to diverge; the rest is checked all the same", target.ID, len(out), byCount(refused))
	}
	return out
}

// noteOverwrites says at which offsets the new leaders acknowledged
// records where the isolated node had acknowledged its orphans.
func (k *faultKit) noteOverwrites(s *stream, orphans []orphan) {
	byPart := map[int32][]int64{}
	for _, o := range orphans {
		if o.offset >= 0 {
			byPart[o.partition] = append(byPart[o.partition], o.offset)
		}
	}
	over := map[int32][]int64{}
	for seq := range s.ledger.Len() {
		if s.ledger.State(seq) != verify.Acked {
			continue
		}
		p, off := s.ledger.Position(seq)
		if slices.Contains(byPart[p], off) {
			over[p] = append(over[p], off)
		}
	}
	total := 0
	for _, p := range sortedKeys(over) {
		offs := over[p]
		slices.Sort(offs)
		total += len(offs)
		k.step.Notef("partition %d: the new leader acknowledged acks=all records at offsets %s, where the isolated node had acknowledged orphans", p, offsetRanges(offs))
	}
	k.step.Metric("orphan_offsets_overwritten", float64(total))
	if total == 0 && len(byPart) > 0 {
		k.step.Notef("no acks=all record of the new leaders took an offset the isolated node had given an orphan: the logs did not meet at the same offsets, so only the orphans' absence is checked")
	}
}

// findOrphans reads every partition an orphan was written to from every
// replica and fails for each orphan any broker serves.
func (k *faultKit) findOrphans(ctx context.Context, isolated int32, orphans []orphan) error {
	want := map[int32]map[uint64]bool{}
	for _, o := range orphans {
		if want[o.partition] == nil {
			want[o.partition] = map[uint64]bool{}
		}
		want[o.partition][o.hash] = true
	}
	if len(want) == 0 {
		return nil
	}
	k.env.status("  %s: looking for the isolated node's orphans on every replica …", k.name)
	rr := &replicaRead{env: k.env, step: k.step, topic: k.topic, who: k.name, when: "after the heal",
		addr: func(id int32) string { return k.node(id).Addr }}
	ids := sortedKeys(want)
	starts, ends, err := logBounds(ctx, k.env.Client, k.topic, ids)
	if err != nil {
		return err
	}
	snap := k.watch.snapshot()
	checked := 0
	for i, p := range ids {
		ps := snap.parts[p]
		replicas := slices.Clone(ps.replicas)
		if !slices.Contains(replicas, ps.leader) && ps.leader >= 0 {
			replicas = append(replicas, ps.leader)
		}
		for _, r := range replicas {
			recs, err := rr.fetchReplica(ctx, rr.addr(r), p, starts[i], ends[i])
			switch {
			case errors.Is(err, errNotServed):
				k.step.Notef("orphans: node %d does not serve partition %d to a follower fetch (%v): its copy was not searched", r, p, err)
				continue
			case err != nil:
				if ctx.Err() != nil {
					return ctxOr(ctx)
				}
				k.step.Failf("orphans: partition %d could not be read from node %d: %v", p, r, err)
				continue
			}
			checked++
			var found []int64
			for off, h := range recs {
				if want[p][h] {
					found = append(found, off)
				}
			}
			if len(found) > 0 {
				slices.Sort(found)
				k.step.Failf("divergence: node %d serves %d orphan record(s) of partition %d at offsets %s: records only isolated node %d acknowledged (acks=1) while the majority elected a new leader must be discarded when it rejoins",
					r, len(found), p, offsetRanges(found), isolated)
			}
		}
	}
	k.step.Metric("orphan_replicas_searched", float64(checked))
	return nil
}
