package testbroker

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/chronik-e2e/chronik-e2e/pkg/netproxy"
)

// newLink starts a link proxy to target (pkg/netproxy, the runner's own),
// closed with the test.
func newLink(t *testing.T, target string) *netproxy.Proxy {
	t.Helper()
	p, err := netproxy.Listen("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// memberCluster is three in-process proxy nodes under a membership rule,
// each reaching each peer's heartbeat port through its own link proxy.
type memberCluster struct {
	b     *Backend
	cl    *kgo.Client                // acks=all
	cl1   *kgo.Client                // acks=1 (kgo sets a raw produce request's acks to its own)
	links map[[2]int]*netproxy.Proxy // by [from, to] index
	addrs []string                   // the nodes' Kafka addresses
}

// freeAddr returns a free address of 127.0.0.1 for a node to listen on,
// below Linux's ephemeral range: a port the kernel handed out for ":0"
// may go to another test's socket between this check and the node's
// listen, one picked here much less likely.
func freeAddr(t *testing.T) string {
	t.Helper()
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(20000+rand.IntN(12000)))
		if ln, err := net.Listen("tcp", addr); err == nil {
			_ = ln.Close()
			return addr
		}
	}
	t.Fatal("no free port in 20000-31999 of 127.0.0.1")
	return ""
}

// startMembers starts a 3-broker backend under mode (election delay as
// given), its three nodes, and a client; it waits for every broker to have
// a majority.
func startMembers(t *testing.T, mode Membership, delay time.Duration) *memberCluster {
	t.Helper()
	b, err := StartBackend(3, WithMembership(mode, 0, delay))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return startMembersOn(t, b)
}

// startMembersOn starts the nodes and the client of startMembers on b.
func startMembersOn(t *testing.T, b *Backend) *memberCluster {
	t.Helper()
	var err error
	mc := &memberCluster{b: b, links: map[[2]int]*netproxy.Proxy{}}
	var raft []string
	for range 3 {
		mc.addrs = append(mc.addrs, freeAddr(t))
		raft = append(raft, freeAddr(t))
	}
	for i := range 3 {
		var peers []string
		for j := range 3 {
			if j != i {
				l := newLink(t, raft[j])
				mc.links[[2]int{i, j}] = l
				peers = append(peers, fmt.Sprintf("%d=%s", j+1, l.Addr()))
			}
		}
		c, err := parseFlags([]string{"--listen", mc.addrs[i], "--id", strconv.Itoa(i + 1), "--backend", b.URL(), "--index", strconv.Itoa(i),
			"--raft-listen", raft[i], "--peers", strings.Join(peers, ",") + ",", "--heartbeat", "50ms"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		n, err := serve(c, &logger{w: io.Discard, id: i + 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.stop(false) })
	}
	for i := range 3 {
		waitEvent(t, b, fmt.Sprintf("membership: broker %d has a majority", i))
	}
	mc.cl, err = kgo.NewClient(kgo.SeedBrokers(mc.addrs...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MaxVersions(kversion.V3_6_0()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mc.cl.Close)
	mc.cl1, err = kgo.NewClient(kgo.SeedBrokers(mc.addrs...), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
		kgo.MaxVersions(kversion.V3_6_0()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mc.cl1.Close)
	if _, err := kadm.NewClient(mc.cl).CreateTopic(context.Background(), 3, 3, nil, "t"); err != nil {
		t.Fatal(err)
	}
	for p := range int32(3) {
		mc.waitLeader(t, p, p)
	}
	return mc
}

// cut cuts the links from each of from to each of to: with drop, they hold
// their connections and pass nothing (a black hole), else they reset them.
func (mc *memberCluster) cut(drop bool, from, to []int) {
	mc.set(netproxy.State{Kind: netproxy.Cut, Drop: drop}, from, to)
}

// heal heals the links from each of from to each of to.
func (mc *memberCluster) heal(from, to []int) { mc.set(netproxy.State{}, from, to) }

func (mc *memberCluster) set(s netproxy.State, from, to []int) {
	for _, i := range from {
		for _, j := range to {
			if l := mc.links[[2]int{i, j}]; l != nil {
				l.Set(s)
			}
		}
	}
}

// metadata returns partition p's leader and error as broker asks answers it.
func (mc *memberCluster) metadata(t *testing.T, broker int, p int32) (int32, int16) {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("t")
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), mc.cl.Broker(broker))
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.Partition == p {
				return rp.Leader, rp.ErrorCode
			}
		}
	}
	t.Fatalf("no partition %d in %+v", p, resp)
	return 0, 0
}

// waitLeader waits until broker 2's metadata (broker 0's may be cut off
// from nothing, but one view suffices) shows want leading partition p.
func (mc *memberCluster) waitLeader(t *testing.T, p, want int32) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		leader, _ := mc.metadata(t, 2, p)
		if leader == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition %d led by %d after %s, want %d; events:\n%s", p, leader, bound, want, strings.Join(mc.b.Events(), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawBatch is one record batch (magic 2) of values.
func rawBatch(values ...string) []byte {
	var recs []byte
	for i, v := range values {
		var body []byte
		body = append(body, 0)                          // attributes
		body = binary.AppendVarint(body, 0)             // timestamp delta
		body = binary.AppendVarint(body, int64(i))      // offset delta
		body = binary.AppendVarint(body, -1)            // no key
		body = binary.AppendVarint(body, int64(len(v))) // value
		body = append(body, v...)
		body = binary.AppendVarint(body, 0) // no headers
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	now := time.Now().UnixMilli()
	rb := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp: now, MaxTimestamp: now, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(len(values)), Records: recs}
	out := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

// produce writes values to partition p through broker with acks and
// returns the answer's error code and base offset.
func (mc *memberCluster) produce(t *testing.T, broker int, p int32, acks int16, values ...string) (int16, int64) {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = p, rawBatch(values...)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	cl := mc.cl
	if acks == 1 {
		cl = mc.cl1
	}
	resp, err := req.RequestWith(context.Background(), cl.Broker(broker))
	if err != nil {
		t.Fatal(err)
	}
	part := resp.Topics[0].Partitions[0]
	return part.ErrorCode, part.BaseOffset
}

// read returns every value of partition p, read from its leader up to its
// high watermark.
func (mc *memberCluster) read(t *testing.T, p int32) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	ends, err := kadm.NewClient(mc.cl).ListEndOffsets(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup("t", p)
	if end.Err != nil {
		t.Fatal(end.Err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(mc.addrs...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"t": {p: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var values []string
	for int64(len(values)) < end.Offset {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of partition %d's %d records within %s", len(values), p, end.Offset, bound)
		}
		fs.EachRecord(func(r *kgo.Record) { values = append(values, string(r.Value)) })
	}
	return values
}

// everyone lists indexes 0..2 but skip.
func others(skip int) []int {
	return slices.DeleteFunc([]int{0, 1, 2}, func(i int) bool { return i == skip })
}

// Healthy: a node cut off from both peers (a black hole: its links hold
// their connections and pass nothing) commits no acks=all write from the
// moment of the cut, and loses its majority; until its
// leadership moves, its acks=all writes time out and its acks=1 writes are
// acknowledged from an orphan log; then its partition is led by the next
// replica, which writes at the orphans' offsets, and the cut node answers
// NOT_LEADER_OR_FOLLOWER. Healed, it leads its partition again and its
// orphans are gone: never readable.
func TestMembershipIsolatedLeader(t *testing.T) {
	mc := startMembers(t, MembershipHealthy, time.Hour) // the test ends the isolation itself
	if code, off := mc.produce(t, 0, 0, -1, "a", "b"); code != 0 || off != 0 {
		t.Fatalf("prefix: error %d offset %d", code, off)
	}
	mc.cut(true, []int{0}, []int{1, 2})
	mc.cut(true, []int{1, 2}, []int{0})
	// Before the backend judges it isolated, an acks=all write already
	// waits for a majority that no longer hears it, and times out. Unless
	// a heartbeat the peers sent before the cut arrives after the write
	// (a busy machine): then the leader heard its majority since the write
	// arrived, and it is committed, readable, and every offset after it
	// one further.
	base, kept := int64(2), []string{"a", "b"}
	switch code, off := mc.produce(t, 0, 0, -1, "just-cut"); {
	case code == kerr.RequestTimedOut.Code:
	case code == 0 && off == 2:
		t.Log("the write just after the cut was committed: a heartbeat sent before the cut arrived after it")
		base, kept = 3, append(kept, "just-cut")
	default:
		t.Errorf("acks=all on the leader just cut off: error %d offset %d, want REQUEST_TIMED_OUT", code, off)
	}
	waitEvent(t, mc.b, "membership: broker 0 lost its majority (hears broker 0 only; needs 2 of 3): its writes are held")
	if code, _ := mc.produce(t, 0, 0, -1, "held"); code != kerr.RequestTimedOut.Code {
		t.Errorf("acks=all on the isolated leader: error %d, want REQUEST_TIMED_OUT", code)
	}
	if code, off := mc.produce(t, 0, 0, 1, "orphan-1", "orphan-2"); code != 0 || off != base {
		t.Errorf("acks=1 on the isolated leader: error %d offset %d, want acknowledged at %d", code, off, base)
	}
	if code, off := mc.produce(t, 0, 0, 1, "orphan-3"); code != 0 || off != base+2 {
		t.Errorf("second acks=1: error %d offset %d, want %d", code, off, base+2)
	}
	if code, _ := mc.produce(t, 0, 1, 1, "x"); code != kerr.NotLeaderForPartition.Code {
		t.Errorf("acks=1 for a partition it does not lead: error %d, want NOT_LEADER_OR_FOLLOWER", code)
	}

	mc.b.SetElectionDelay(0)
	waitEvent(t, mc.b, "membership: broker 0 still has no majority")
	waitEvent(t, mc.b, "moved the leadership of 1 partition(s) off it")
	mc.waitLeader(t, 0, 1) // the next replica
	if code, _ := mc.produce(t, 0, 0, 1, "late"); code != kerr.NotLeaderForPartition.Code {
		t.Errorf("acks=1 on the deposed leader: error %d, want NOT_LEADER_OR_FOLLOWER", code)
	}
	if code, off := mc.produce(t, 1, 0, -1, "new-1", "new-2"); code != 0 || off != base {
		t.Errorf("acks=all on the new leader: error %d offset %d, want %d (the orphans' offsets)", code, off, base)
	}

	mc.heal([]int{0}, []int{1, 2})
	mc.heal([]int{1, 2}, []int{0})
	waitEvent(t, mc.b, fmt.Sprintf("it may lead; led 1 partition(s) back (preferred leaders); discarded its 3 orphan record(s) (t 0 offsets %d-%d), never applied", base, base+2))
	mc.waitLeader(t, 0, 0)
	if got, want := mc.read(t, 0), append(kept, "new-1", "new-2"); !slices.Equal(got, want) {
		t.Errorf("partition 0 holds %q, want %q (no orphan)", got, want)
	}
}

// A one-way cut breaks the pair: 0 cut from 1 alone leaves everyone a
// majority (0 with 2, 1 with 2); 0 cut from 2 too makes 0 unheard, and so
// without a majority, though it still hears both.
func TestMembershipOneWayCut(t *testing.T) {
	mc := startMembers(t, MembershipHealthy, 0)
	mc.cut(false, []int{0}, []int{1})
	m := &mc.b.member
	deadline := time.Now().Add(bound)
	for {
		m.mu.Lock()
		_, with0 := m.majority(0, time.Now())
		_, with1 := m.majority(1, time.Now())
		states := slices.Clone(m.state)
		m.mu.Unlock()
		if slices.Equal(with0, []int{0, 2}) && slices.Equal(with1, []int{1, 2}) {
			if !slices.Equal(states, []memberState{stateIn, stateIn, stateIn}) {
				t.Errorf("states %v with 0→1 cut, want all members", states)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("0 hears both ways %v, 1 hears %v %s after cutting 0→1; want [0 2] and [1 2]", with0, with1, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mc.cut(false, []int{0}, []int{2})
	waitEvent(t, mc.b, "membership: broker 0 lost its majority (hears broker 0 only; needs 2 of 3)")
	waitEvent(t, mc.b, "moved the leadership of 1 partition(s) off it")
	mc.waitLeader(t, 0, 1)
	mc.heal([]int{0}, []int{2}) // 0→1 stays cut: 0 and 2 are a majority
	waitEvent(t, mc.b, "membership: broker 0 has a majority (hears brokers 0, 2; needs 2 of 3): it may lead; led 1 partition(s) back")
}

// With no majority anywhere no partition has a leader; a majority back
// elects again.
func TestMembershipNoMajority(t *testing.T) {
	mc := startMembers(t, MembershipHealthy, 0)
	for i := range 3 {
		mc.cut(true, []int{i}, others(i))
	}
	waitEvent(t, mc.b, "membership: no broker has a majority")
	for i := range 3 {
		waitEvent(t, mc.b, fmt.Sprintf("membership: broker %d still has no majority", i))
	}
	if leader, code := mc.metadata(t, 1, 1); leader != -1 || code != kerr.LeaderNotAvailable.Code {
		t.Errorf("partition 1 with no majority: leader %d error %d, want -1 LEADER_NOT_AVAILABLE", leader, code)
	}
	mc.heal([]int{1}, []int{2}) // 1 and 2 hear each other again: a majority of 3
	mc.heal([]int{2}, []int{1})
	waitEvent(t, mc.b, "membership: broker 1 has a majority")
	mc.waitLeader(t, 0, 1)
	mc.waitLeader(t, 1, 1)
	mc.waitLeader(t, 2, 2)
}

// Split brain keeps the partitioned node's leadership and lets its writes
// through: acks=all succeeds, acks=1 is applied and readable.
func TestMembershipSplitBrain(t *testing.T) {
	mc := startMembers(t, MembershipSplitBrain, 0)
	mc.cut(false, []int{0}, []int{1, 2})
	mc.cut(false, []int{1, 2}, []int{0})
	waitEvent(t, mc.b, "membership (split-brain): broker 0 lost its majority (hears broker 0 only; needs 2 of 3) and keeps its leadership")
	if code, off := mc.produce(t, 0, 0, -1, "all"); code != 0 || off != 0 {
		t.Errorf("acks=all on the isolated leader: error %d offset %d, want acknowledged at 0", code, off)
	}
	if code, off := mc.produce(t, 0, 0, 1, "orphan"); code != 0 || off != 1 {
		t.Errorf("acks=1 on the isolated leader: error %d offset %d, want acknowledged at 1", code, off)
	}
	if leader, _ := mc.metadata(t, 2, 0); leader != 0 {
		t.Errorf("partition 0 led by %d, want the partitioned node 0 still", leader)
	}
	if got, want := mc.read(t, 0), []string{"all", "orphan"}; !slices.Equal(got, want) {
		t.Errorf("partition 0 holds %q, want %q (the orphan readable)", got, want)
	}
}

// Ack-drop acknowledges acks=all writes on an isolated leader and drops
// them with its orphans.
func TestMembershipAckDrop(t *testing.T) {
	mc := startMembers(t, MembershipAckDrop, time.Hour)
	mc.cut(true, []int{0}, []int{1, 2})
	mc.cut(true, []int{1, 2}, []int{0})
	waitEvent(t, mc.b, "membership: broker 0 lost its majority")
	if code, off := mc.produce(t, 0, 0, -1, "acked", "too"); code != 0 || off != 0 {
		t.Errorf("acks=all on the isolated leader: error %d offset %d, want acknowledged at 0", code, off)
	}
	mc.b.SetElectionDelay(0)
	mc.waitLeader(t, 0, 1)
	mc.heal([]int{0}, []int{1, 2})
	mc.heal([]int{1, 2}, []int{0})
	waitEvent(t, mc.b, "discarded its 2 orphan record(s) (t 0 offsets 0-1), never applied, 2 of them acks=all writes it acknowledged (ack-drop)")
	mc.waitLeader(t, 0, 0)
	if got := mc.read(t, 0); len(got) != 0 {
		t.Errorf("partition 0 holds %q, want nothing: the acknowledged writes were dropped", got)
	}
}

// A node with peers needs a backend with a rule, and the reverse.
func TestMembershipRegistrationMismatch(t *testing.T) {
	plain := startBackend(t, 1)
	c, err := parseFlags([]string{"--listen", freeAddr(t), "--backend", plain.URL(), "--index", "0", "--raft-listen", freeAddr(t)}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := serve(c, &logger{w: io.Discard}); err == nil || !strings.Contains(err.Error(), "this backend has no membership rule: start it with --membership healthy") {
		t.Errorf("node with peers on a plain backend: %v", err)
	}
	ruled, err := StartBackend(1, WithMembership(MembershipHealthy, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ruled.Close() })
	if code, body := postBackend(t, ruled, "/register?index=0&addr=127.0.0.1:40001"); code != 409 || !strings.Contains(body, "give the node --raft-listen and --peers") {
		t.Errorf("plain node on a ruled backend = %d %q", code, body)
	}
}

// A leader that hears a majority again before its leadership moved leads
// on, and applies what it acknowledged meanwhile at the offsets it gave,
// as a Raft leader that kept its term replicates its log.
func TestMembershipRejoinBeforeElection(t *testing.T) {
	mc := startMembers(t, MembershipHealthy, time.Hour)
	mc.cut(false, []int{0}, []int{1, 2})
	mc.cut(false, []int{1, 2}, []int{0})
	waitEvent(t, mc.b, "membership: broker 0 lost its majority")
	if code, off := mc.produce(t, 0, 0, 1, "o-1", "o-2"); code != 0 || off != 0 {
		t.Errorf("acks=1 on the isolated leader: error %d offset %d, want acknowledged at 0", code, off)
	}
	if code, off := mc.produce(t, 0, 0, 1, "o-3"); code != 0 || off != 2 {
		t.Errorf("acks=1 on the isolated leader: error %d offset %d, want acknowledged at 2", code, off)
	}
	mc.heal([]int{0}, []int{1, 2})
	mc.heal([]int{1, 2}, []int{0})
	waitEvent(t, mc.b, "it leads on; applied its 3 orphan record(s) (t 0 offsets 0-2), as a Raft leader that kept its term replicates its log")
	if code, off := mc.produce(t, 0, 0, -1, "after"); code != 0 || off != 3 {
		t.Errorf("acks=all after rejoining: error %d offset %d, want 3", code, off)
	}
	if got, want := mc.read(t, 0), []string{"o-1", "o-2", "o-3", "after"}; !slices.Equal(got, want) {
		t.Errorf("partition 0 holds %q, want %q", got, want)
	}
}

// With healthy replication too, a node that may not lead is out of every
// ISR until it has a majority again.
func TestMembershipISR(t *testing.T) {
	b, err := StartBackend(3, WithReplication(ReplicationHealthy), WithMembership(MembershipHealthy, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	mc := startMembersOn(t, b)
	isr := func() []int32 {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr("t")
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(context.Background(), mc.cl.Broker(2))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range resp.Topics[0].Partitions {
			if p.Partition == 0 {
				return p.ISR
			}
		}
		t.Fatalf("no partition 0 in %+v", resp)
		return nil
	}
	if got := isr(); !slices.Equal(got, []int32{0, 1, 2}) {
		t.Errorf("partition 0's ISR %v, want [0 1 2]", got)
	}
	mc.cut(false, []int{0}, []int{1, 2})
	waitEvent(t, b, "membership: broker 0 still has no majority")
	mc.waitLeader(t, 0, 1)
	if got := isr(); !slices.Equal(got, []int32{1, 2}) {
		t.Errorf("partition 0's ISR with node 0 cut off %v, want [1 2]", got)
	}
	mc.heal([]int{0}, []int{1, 2})
	mc.waitLeader(t, 0, 0)
	if got := isr(); !slices.Equal(got, []int32{0, 1, 2}) {
		t.Errorf("partition 0's ISR healed %v, want [0 1 2]", got)
	}
}
