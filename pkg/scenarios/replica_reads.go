package scenarios

// Reads through every replica: where the brokers serve fetches from
// followers (KIP-392: a Fetch request v11+ carries the consumer's rack id,
// and a broker may answer it as a follower), each partition is read from
// every replica, directly, and each follower's records are compared with
// the leader's, offset by offset: a follower lacking records the leader
// serves, or holding a different record at the same offset, fails naming
// the replica and the offsets. A broker that answers a follower fetch with
// NOT_LEADER_OR_FOLLOWER does not serve followers: the report says the
// reads came from leaders only. Only the replication scenario reads this
// way; the consume scenario and the final audit read from leaders.

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// replicaRack is the rack id the replica reads announce.
const replicaRack = "chronik-e2e-replica-read"

// replicaRecords is what one replica served of one partition: per offset,
// a hash of the record's key and value.
type replicaRecords map[int64]uint64

// recordHash hashes a record's key and value.
func recordHash(key, value []byte) uint64 {
	h := fnv.New64a()
	h.Write(key)
	h.Write([]byte{0})
	h.Write(value)
	return h.Sum64()
}

// errNotServed is a replica that does not serve fetches as a follower.
var errNotServed = errors.New("does not serve fetches from followers")

// fetchReplica reads partition p of the kit's topic from the broker at
// addr, offsets start to end, with Fetch v11 requests carrying a rack id.
func (k *faultKit) fetchReplica(ctx context.Context, addr string, p int32, start, end int64) (replicaRecords, error) {
	cfg := k.env.Config()
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = 5*time.Second, 10*time.Second, 10*time.Second
	b := sarama.NewBroker(addr)
	if err := b.Open(cfg); err != nil {
		return nil, err
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = b.Close() })
	recs := replicaRecords{}
	for off := start; off < end; {
		req := &sarama.FetchRequest{Version: 11, MaxWaitTime: 10, MinBytes: 1, MaxBytes: 4 << 20, Isolation: sarama.ReadUncommitted, RackID: replicaRack}
		req.AddBlock(k.topic, p, off, 4<<20, -1)
		resp, err := within(ctx, func() (*sarama.FetchResponse, error) { return b.Fetch(req) })
		if err != nil {
			return nil, err
		}
		block := resp.GetBlock(k.topic, p)
		switch {
		case block == nil:
			return nil, fmt.Errorf("no answer for partition %d", p)
		case errors.Is(block.Err, sarama.ErrNotLeaderForPartition) || errors.Is(block.Err, sarama.ErrReplicaNotAvailable):
			return nil, fmt.Errorf("%w (%v)", errNotServed, block.Err)
		case block.Err != sarama.ErrNoError:
			return nil, block.Err
		}
		next := off
		for _, rs := range block.RecordsSet {
			switch {
			case rs.RecordBatch != nil:
				rb := rs.RecordBatch
				for _, r := range rb.Records {
					if o := rb.FirstOffset + r.OffsetDelta; o >= off && o < end {
						recs[o] = recordHash(r.Key, r.Value)
					}
				}
				next = max(next, rb.FirstOffset+int64(rb.LastOffsetDelta)+1)
			case rs.MsgSet != nil:
				for _, m := range rs.MsgSet.Messages {
					if m.Msg != nil && m.Offset >= off && m.Offset < end {
						recs[m.Offset] = recordHash(m.Msg.Key, m.Msg.Value)
					}
					next = max(next, m.Offset+1)
				}
			}
		}
		if next <= off {
			break // the replica serves nothing more: its log, or its high watermark, ends here
		}
		off = next
	}
	return recs, nil
}

// compareReplica returns how follower's records differ from leader's:
// the offsets it lacks and those where it holds another record.
func compareReplica(leader, follower replicaRecords) (missing, differ []int64) {
	for off, h := range leader {
		switch fh, ok := follower[off]; {
		case !ok:
			missing = append(missing, off)
		case fh != h:
			differ = append(differ, off)
		}
	}
	slices.Sort(missing)
	slices.Sort(differ)
	return missing, differ
}

// offsetRanges renders sorted offsets as "0-326, 400".
func offsetRanges(offs []int64) string {
	var parts []string
	for i := 0; i < len(offs); {
		j := i
		for j+1 < len(offs) && offs[j+1] == offs[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", offs[i], offs[j]))
		} else {
			parts = append(parts, fmt.Sprint(offs[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

// readReplicas reads every partition of the kit's topic from every
// replica metadata lists and compares each follower with the leader.
func (k *faultKit) readReplicas(ctx context.Context, when string) error {
	if !k.env.Version.IsAtLeast(sarama.V2_3_0_0) {
		k.step.Notef("reads through every replica %s: not applicable: the protocol version %s is older than Fetch v11 (Kafka 2.3), which carries the consumer's rack id; reads came from leaders only", when, k.env.Version)
		return nil
	}
	k.env.status("  %s: reading %s from every replica (%s) …", k.name, k.topic, when)
	ids := make([]int32, k.env.Profile.Topic.Partitions)
	for i := range ids {
		ids[i] = int32(i)
	}
	starts, err := offsetsOf(ctx, k.env.Client, k.topic, ids, sarama.OffsetOldest)
	if err != nil {
		return err
	}
	ends, err := offsetsOf(ctx, k.env.Client, k.topic, ids, sarama.OffsetNewest)
	if err != nil {
		return err
	}
	snap := k.watch.snapshot()
	served, refused := 0, map[int32]string{}
	for _, ps := range snap.parts {
		i := slices.Index(ids, ps.id)
		if i < 0 || ps.leader < 0 || ends[i] <= starts[i] {
			continue
		}
		lead, err := k.fetchReplica(ctx, k.node(ps.leader).Addr, ps.id, starts[i], ends[i])
		if err != nil {
			if ctx.Err() != nil {
				return ctxOr(ctx)
			}
			k.step.Failf("reads through every replica %s: leader node %d of partition %d: %v", when, ps.leader, ps.id, err)
			continue
		}
		for _, r := range ps.replicas {
			if r == ps.leader {
				continue
			}
			recs, err := k.fetchReplica(ctx, k.node(r).Addr, ps.id, starts[i], ends[i])
			switch {
			case errors.Is(err, errNotServed):
				refused[r] = err.Error()
				continue
			case err != nil:
				if ctx.Err() != nil {
					return ctxOr(ctx)
				}
				k.step.Failf("reads through every replica %s: follower node %d of partition %d: %v", when, r, ps.id, err)
				continue
			}
			served++
			missing, differ := compareReplica(lead, recs)
			if len(missing) > 0 {
				k.step.Failf("reads through every replica %s: node %d, a follower of partition %d, lacks %d record(s) that leader node %d serves: offsets %s",
					when, r, ps.id, len(missing), ps.leader, offsetRanges(missing))
			}
			if len(differ) > 0 {
				k.step.Failf("reads through every replica %s: node %d, a follower of partition %d, holds records other than leader node %d's at offsets %s",
					when, r, ps.id, ps.leader, offsetRanges(differ))
			}
		}
	}
	if len(refused) > 0 {
		nodes := make([]int32, 0, len(refused))
		for r := range refused {
			nodes = append(nodes, r)
		}
		slices.Sort(nodes)
		k.step.Notef("reads through every replica %s: node(s) %s do not serve fetches from followers (%s; KIP-392 needs racks and a replica selector on the brokers): their partitions were read from the leaders only",
			when, ints(nodes), strings.TrimPrefix(refused[nodes[0]], errNotServed.Error()+" "))
	}
	if served > 0 {
		k.step.Metric("replica_reads", float64(served))
	}
	return nil
}
