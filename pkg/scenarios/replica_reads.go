package scenarios

// Reads through every replica: where the brokers serve fetches from
// followers (KIP-392: a Fetch request v11+ carries the consumer's rack id,
// and a broker may answer it as a follower), each partition is read from
// every replica, directly, and each follower's records are compared with
// the leader's, offset by offset: a follower lacking records the leader
// serves, or holding a different record at the same offset, fails naming
// the replica and the offsets. A broker that answers a follower fetch with
// NOT_LEADER_OR_FOLLOWER does not serve followers: the report says the
// reads came from leaders only. The replication scenario always reads this
// way; consume does with workload.replica_reads (it holds a hash per record
// of one partition at a time, for the leader and one follower).

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
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

// replicaRead is one read of a topic through every replica.
type replicaRead struct {
	env   *Env
	step  *Step
	topic string
	who   string // for status lines: the scenario's name
	when  string // for findings: "after producing"
	// parts are the topic's partitions with their leaders and replicas;
	// addr gives a node's address.
	parts []partState
	addr  func(id int32) string
	// isolation is the fetches' isolation level (read_uncommitted unless set).
	isolation sarama.IsolationLevel
}

// fetchReplica reads partition p of the topic from the broker at addr,
// offsets start to end, with Fetch v11 requests carrying a rack id.
func (rr *replicaRead) fetchReplica(ctx context.Context, addr string, p int32, start, end int64) (replicaRecords, error) {
	cfg := rr.env.Config()
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = 5*time.Second, 10*time.Second, 10*time.Second
	b := sarama.NewBroker(addr)
	if err := b.Open(cfg); err != nil {
		return nil, err
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = b.Close() })
	recs := replicaRecords{}
	for off := start; off < end; {
		req := &sarama.FetchRequest{Version: 11, MaxWaitTime: 10, MinBytes: 1, MaxBytes: 4 << 20, Isolation: rr.isolation, RackID: replicaRack}
		req.AddBlock(rr.topic, p, off, 4<<20, -1)
		resp, err := within(ctx, func() (*sarama.FetchResponse, error) { return b.Fetch(req) })
		if err != nil {
			return nil, err
		}
		block := resp.GetBlock(rr.topic, p)
		switch {
		case block == nil:
			return nil, fmt.Errorf("no answer for partition %d", p)
		case errors.Is(block.Err, sarama.ErrNotLeaderForPartition) || errors.Is(block.Err, sarama.ErrReplicaNotAvailable):
			return nil, fmt.Errorf("%w: they answered %s", errNotServed, verify.ErrorName(block.Err, ""))
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
	rr := &replicaRead{env: k.env, step: k.step, topic: k.topic, who: k.name, when: when,
		parts: k.watch.snapshot().parts, addr: func(id int32) string { return k.node(id).Addr }}
	return rr.run(ctx)
}

// run reads every partition from every replica and compares each follower
// with the leader, failing the step for every difference.
func (rr *replicaRead) run(ctx context.Context) error {
	env, step, when := rr.env, rr.step, rr.when
	if !env.Version.IsAtLeast(sarama.V2_3_0_0) {
		step.Notef("reads through every replica %s: not applicable: the protocol version %s is older than Fetch v11 (Kafka 2.3), which carries the consumer's rack id; reads came from leaders only", when, env.Version)
		return nil
	}
	env.status("  %s: reading %s from every replica (%s) …", rr.who, rr.topic, when)
	ids := make([]int32, len(rr.parts))
	for i, ps := range rr.parts {
		ids[i] = ps.id
	}
	starts, ends, err := logBounds(ctx, env.Client, rr.topic, ids)
	if err != nil {
		return err
	}
	served, refused := 0, map[int32]string{}
	for i, ps := range rr.parts {
		if ps.leader < 0 || ends[i] <= starts[i] {
			continue
		}
		lead, err := rr.fetchReplica(ctx, rr.addr(ps.leader), ps.id, starts[i], ends[i])
		if err != nil {
			if ctx.Err() != nil {
				return ctxOr(ctx)
			}
			step.Failf("reads through every replica %s: leader node %d of partition %d: %v", when, ps.leader, ps.id, err)
			continue
		}
		for _, r := range ps.replicas {
			if r == ps.leader {
				continue
			}
			recs, err := rr.fetchReplica(ctx, rr.addr(r), ps.id, starts[i], ends[i])
			switch {
			case errors.Is(err, errNotServed):
				refused[r] = err.Error()
				continue
			case err != nil:
				if ctx.Err() != nil {
					return ctxOr(ctx)
				}
				step.Failf("reads through every replica %s: follower node %d of partition %d: %v", when, r, ps.id, err)
				continue
			}
			served++
			missing, differ := compareReplica(lead, recs)
			if len(missing) > 0 {
				step.Failf("reads through every replica %s: node %d, a follower of partition %d, lacks %d record(s) that leader node %d serves: offsets %s",
					when, r, ps.id, len(missing), ps.leader, offsetRanges(missing))
			}
			if len(differ) > 0 {
				step.Failf("reads through every replica %s: node %d, a follower of partition %d, holds records other than leader node %d's at offsets %s",
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
		step.Notef("reads through every replica %s: node(s) %s do not serve fetches from followers (%s; KIP-392 needs racks and a replica selector on the brokers): their partitions were read from the leaders only",
			when, ints(nodes), strings.TrimPrefix(refused[nodes[0]], errNotServed.Error()+": "))
	}
	if served > 0 {
		step.Metric("replica_reads", float64(served))
	}
	return nil
}

// logBounds returns the log start and end offsets of partitions ids of topic.
func logBounds(ctx context.Context, client sarama.Client, topic string, ids []int32) (starts, ends []int64, err error) {
	if starts, err = offsetsOf(ctx, client, topic, ids, sarama.OffsetOldest); err != nil {
		return nil, nil, err
	}
	if ends, err = offsetsOf(ctx, client, topic, ids, sarama.OffsetNewest); err != nil {
		return nil, nil, err
	}
	return starts, ends, nil
}

// topicReplicas returns the partitions of topic with their leaders and
// replicas from fresh metadata, and the brokers' addresses.
func topicReplicas(env *Env, topic string) ([]partState, func(int32) string, error) {
	if err := env.Client.RefreshMetadata(topic); err != nil {
		return nil, nil, fmt.Errorf("metadata for topic %s: %w", topic, err)
	}
	ids, err := env.Client.Partitions(topic)
	if err != nil {
		return nil, nil, err
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	var parts []partState
	for _, id := range ids {
		ps := partState{id: id, leader: -1}
		if b, err := env.Client.Leader(topic, id); err == nil {
			ps.leader = b.ID()
		}
		ps.replicas, _ = env.Client.Replicas(topic, id)
		parts = append(parts, ps)
	}
	addrs := map[int32]string{}
	for _, b := range env.Client.Brokers() {
		addrs[b.ID()] = b.Addr()
	}
	return parts, func(id int32) string { return addrs[id] }, nil
}
