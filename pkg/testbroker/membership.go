package testbroker

// Membership: a Backend's rule for who may lead, from what its nodes hear of
// each other, so that cutting the links between spawned test nodes (the
// runner's link proxies, issue 13) has the effects a Raft cluster shows:
//
//   - each node (--raft-listen, --peers, heartbeat.go) pings every peer
//     through the address its profile renders for that link, answers its
//     peers' pings, and reports to the backend how long ago it last heard
//     each peer (POST /view) whenever a ping arrives and at least every
//     heartbeat. Node i hears node j while j's pings reach i;
//   - an acks=all write commits (goes on to the shared log) once its
//     leader and a majority have heard each other since it came, as a Raft
//     leader commits once a majority has the entry: a heartbeat round
//     (about one --heartbeat) of latency, and a leader cut off commits
//     nothing from the moment of the cut;
//   - node i has a majority while its own view is fresh and it and more
//     than half of the brokers (itself included) hear each other, both
//     ways, within the membership timeout. A paused (SIGSTOP) node reports
//     nothing, so its view goes stale and it loses its majority; a one-way
//     cut i→j breaks the pair i, j;
//   - a node without a majority may not lead (cluster.Embedded.Bar): a
//     node that loses its majority keeps its leaderships for the election
//     delay, its writes held (isolated: acks=all answers REQUEST_TIMED_OUT,
//     acks=1 and acks=0 writes go to an orphan log that no broker ever
//     serves, at offsets continuing the partition's high watermark), then
//     they move to the next broker with a majority in the partition's
//     replica order, and its produce answers NOT_LEADER_OR_FOLLOWER; with
//     no majority anywhere a partition has no leader (metadata answers
//     LEADER_NOT_AVAILABLE). A node that regains its majority after its
//     leadership moved discards its orphans (a Raft follower truncates
//     what the new leader does not have) and leads its preferred
//     partitions again, as after a restart; one that regains it before
//     leads on and applies its orphans at the offsets it acknowledged (a
//     Raft leader that kept its term replicates its log), so that a
//     short stall costs no acknowledged write. With --replication healthy
//     too, a node that may not lead is out of every ISR.
//
// Each change is a backend event. The misbehaving modes keep the rule's
// events but break its effects: split-brain keeps a partitioned node's
// leadership and lets every write through (acks=all writes on the isolated
// leader succeed, its acks=1 writes are applied and readable); ack-drop
// acknowledges acks=all writes on an isolated leader from the orphan log
// and drops them with the orphans.
//
// This shows the runner's mechanism (link proxies, cuts, heals, pauses)
// and its verdicts end to end; it is not any real broker's behaviour. The
// brokers still share one copy of the data: acks=1 and acks=0 writes in
// the first timeout after a cut, before the backend judges their leader
// isolated, are applied as if replicated (a real leader would orphan
// them); elections take the timeout and the delay, nothing more.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

// Membership is how a Backend decides who may lead from what its nodes hear.
type Membership string

// The membership modes.
const (
	// MembershipOff has no rule: the nodes send no heartbeats and a
	// broker leads while its node is up.
	MembershipOff Membership = ""
	// MembershipHealthy is the rule above, Raft-like.
	MembershipHealthy Membership = "healthy"
	// MembershipSplitBrain keeps a partitioned node's leadership and its
	// writes flowing: a split brain.
	MembershipSplitBrain Membership = "split-brain"
	// MembershipAckDrop is healthy, except that an isolated leader
	// acknowledges acks=all writes and then drops them.
	MembershipAckDrop Membership = "ack-drop"
)

// Memberships are the modes with a rule, by name, for flags.
var Memberships = []Membership{MembershipHealthy, MembershipSplitBrain, MembershipAckDrop}

// ParseMembership returns the mode called s ("" or "off": no rule).
func ParseMembership(s string) (Membership, error) {
	if s == "" || s == "off" {
		return MembershipOff, nil
	}
	if m := Membership(s); slices.Contains(Memberships, m) {
		return m, nil
	}
	return "", fmt.Errorf("membership %q: want off, healthy, split-brain or ack-drop", s)
}

// The defaults of the rule's durations.
const (
	DefaultMembershipTimeout = time.Second
	DefaultElectionDelay     = time.Second
)

// membershipTick is how often the backend judges the views.
const membershipTick = 50 * time.Millisecond

// heldWait is how long an isolated leader takes to answer an acks=all
// write it cannot replicate (at most the request's own timeout).
const heldWait = 250 * time.Millisecond

// WithMembership gives the backend membership rule m (see Membership): a
// node loses its majority when it does not hear one within timeout (zero:
// DefaultMembershipTimeout), and its leadership moves delay later (zero: at
// once).
func WithMembership(m Membership, timeout, delay time.Duration) BackendOption {
	return func(b *Backend) {
		b.member.mode = m
		b.member.timeout = timeout
		if timeout <= 0 {
			b.member.timeout = DefaultMembershipTimeout
		}
		b.member.delay = max(delay, 0)
	}
}

// SetElectionDelay changes how long a node that lost its majority keeps its
// leadership: tests hold a node isolated with a long delay and then end
// its isolation with 0.
func (b *Backend) SetElectionDelay(d time.Duration) {
	b.member.mu.Lock()
	defer b.member.mu.Unlock()
	b.member.delay = d
}

// memberState is where a node stands under the rule.
type memberState int

const (
	// stateOut: no majority, and no leadership (it moved, or the node
	// never had a majority since it registered): it may not lead.
	stateOut memberState = iota
	// stateIn: it hears a majority; it may lead.
	stateIn
	// stateIsolated: it lost its majority and its leadership has not
	// moved yet: its writes are held.
	stateIsolated
)

func (s memberState) String() string {
	return [...]string{"out", "member", "isolated"}[s]
}

// topicPartition names a partition.
type topicPartition struct {
	topic     string
	partition int32
}

// orphanLog is what an isolated leader acknowledged of one partition and
// has not applied.
type orphanLog struct {
	start, next int64    // its first offset and the next
	dropped     int64    // of them, acks=all writes acknowledged (ack-drop)
	batches     [][]byte // the record batches, in order (healthy mode)
}

// memberView is what a node last reported hearing.
type memberView struct {
	at    time.Time         // when it reported; zero: never
	heard map[int]time.Time // per peer, when it last heard it
}

// membership is a Backend's rule state, under its own lock (fronts read it
// while a node operation holds the backend's).
type membership struct {
	mode           Membership
	timeout, delay time.Duration

	// gate orders a leader's orphans before the writes that follow its
	// rejoining: fronts read-lock it while they pass a request on,
	// applyOrphans write-locks it.
	gate sync.RWMutex

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when a view or a state changes
	addrs   []string      // per broker: its registered node's address ("": none), so that views never wait for the backend's lock
	n       int
	views   []memberView
	state   []memberState
	lostAt  []time.Time
	orphans []map[topicPartition]*orphanLog
	formed  bool // some node has had a majority: a later "none has one" is news
}

// on reports whether the backend has a membership rule.
func (m *membership) on() bool { return m.mode != MembershipOff }

// stateOf returns how node i's front treats its writes: always stateIn
// without a rule that holds them (off, split-brain).
func (m *membership) stateOf(i int) memberState {
	if m.mode != MembershipHealthy && m.mode != MembershipAckDrop {
		return stateIn
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state[i]
}

// hears reports whether node i heard node j (itself: reported) within the
// timeout; under m.mu.
func (m *membership) hears(i, j int, now time.Time) bool {
	v := m.views[i]
	if i == j {
		return !v.at.IsZero() && now.Sub(v.at) <= m.timeout
	}
	t, ok := v.heard[j]
	return ok && now.Sub(t) <= m.timeout
}

// majority reports whether node i has a majority, and whom it and hears
// both ways (itself first when its view is fresh); under m.mu.
func (m *membership) majority(i int, now time.Time) (bool, []int) {
	if !m.hears(i, i, now) {
		return false, nil
	}
	with := []int{i}
	for j := range m.n {
		if j != i && m.hears(i, j, now) && m.hears(j, i, now) {
			with = append(with, j)
		}
	}
	return len(with) > m.n/2, with
}

// startMembership sets up the rule's state for n brokers; a rule that
// holds writes starts with every broker barred until it has a majority.
func (b *Backend) startMembership(n int) {
	m := &b.member
	m.n = n
	m.views = make([]memberView, n)
	m.state = make([]memberState, n)
	m.lostAt = make([]time.Time, n)
	m.orphans = make([]map[topicPartition]*orphanLog, n)
	m.changed = make(chan struct{})
	m.addrs = make([]string, n)
	if !m.on() {
		return
	}
	if m.bars() {
		for i := range n {
			b.embedded.Bar(int32(i), true)
		}
	}
	b.handlers.Add(1)
	go func() {
		defer b.handlers.Done()
		t := time.NewTicker(membershipTick)
		defer t.Stop()
		for {
			select {
			case <-b.done:
				return
			case now := <-t.C:
				b.judge(now)
			}
		}
	}()
}

// bars reports whether the rule moves leadership (every mode but split-brain).
func (m *membership) bars() bool { return m.mode == MembershipHealthy || m.mode == MembershipAckDrop }

// judge applies the rule to every node up, as of now.
func (b *Backend) judge(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	m := &b.member
	anyMajority := false
	for i := range m.n {
		if b.down[i] || b.sessions[i] == nil {
			continue
		}
		m.mu.Lock()
		ok, with := m.majority(i, now)
		state, lostAt, delay := m.state[i], m.lostAt[i], m.delay
		m.mu.Unlock()
		anyMajority = anyMajority || ok
		hears := fmt.Sprintf("hears %s; needs %d of %d", brokerList(with), m.n/2+1, m.n)
		switch {
		case ok && state == stateIsolated && m.mode == MembershipHealthy:
			// Still the leader: like a Raft leader that kept its term, it
			// replicates what it acknowledged meanwhile.
			m.gate.Lock()
			applied := b.applyOrphans(i)
			m.set(i, stateIn, time.Time{})
			m.gate.Unlock()
			b.event("membership: broker %d has its majority again before its leadership moved (%s): it leads on%s", i, hears, applied)
		case ok && state != stateIn:
			orphans := m.discard(i)
			moved := 0
			if m.bars() {
				moved = b.embedded.Bar(int32(i), false)
			}
			m.set(i, stateIn, time.Time{})
			what := "has a majority"
			if state == stateIsolated {
				what = "has its majority again before its leadership moved"
			}
			b.event("membership: broker %d %s (%s): it may lead%s%s", i, what, hears, ledBack(moved), orphans)
		case !ok && state == stateIn:
			m.set(i, stateIsolated, now)
			if m.bars() {
				b.event("membership: broker %d lost its majority (%s): its writes are held (acks=all time out, acks=1 orphaned) until its leadership moves in %s", i, hears, delay)
			} else {
				b.event("membership (%s): broker %d lost its majority (%s) and keeps its leadership, its writes applied", m.mode, i, hears)
			}
		case !ok && state == stateIsolated && m.bars() && now.Sub(lostAt) >= delay:
			moved := b.embedded.Bar(int32(i), true)
			m.set(i, stateOut, time.Time{})
			b.event("membership: broker %d still has no majority %s after losing it (%s): moved the leadership of %d partition(s) off it; it answers produce with NOT_LEADER_OR_FOLLOWER", i, delay, hears, moved)
		}
	}
	m.mu.Lock()
	formed := m.formed
	m.formed = anyMajority
	m.mu.Unlock()
	switch {
	case !formed || anyMajority:
	case m.bars():
		b.event("membership: no broker has a majority: once the election delay passes, no partition has a leader (LEADER_NOT_AVAILABLE) until one has")
	default:
		b.event("membership (%s): no broker has a majority; every leader keeps its leadership", m.mode)
	}
}

func ledBack(moved int) string {
	if moved == 0 {
		return ""
	}
	return fmt.Sprintf("; led %d partition(s) back (preferred leaders)", moved)
}

// set moves node i to state s.
func (m *membership) set(i int, s memberState, lostAt time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state[i], m.lostAt[i] = s, lostAt
	m.changedLocked()
}

// changedLocked wakes whoever waits for a change; under m.mu.
func (m *membership) changedLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// heardSince reports whether node i and a majority (itself included) have
// heard each other, both ways, since t; under m.mu.
func (m *membership) heardSince(i int, t time.Time) bool {
	count := 1
	for j := range m.n {
		if j != i && m.views[i].heard[j].After(t) && m.views[j].heard[i].After(t) {
			count++
		}
	}
	return count > m.n/2
}

// awaitCommit holds an acks=all write to broker f.index, under a rule that
// bars, until a majority has heard its node and been heard by it since the
// write came (a Raft leader commits once a majority has it: heartbeats
// stand for the replication), or its node is no longer a member, or a
// membership timeout has passed since; the write then goes on as its node's state
// says; it returns false when the timeout passed first (the write then
// times out). So no acks=all write reaches the shared log through a leader
// already cut off, even before the backend judges it isolated.
func (f *front) awaitCommit(frame []byte, since time.Time) bool {
	m := f.r.member
	if !m.bars() || len(frame) < 12 || int16(binary.BigEndian.Uint16(frame[4:6])) != kmsg.Produce.Int16() {
		return true
	}
	req := kmsg.NewPtrProduceRequest()
	if requestBody(frame, req, int16(binary.BigEndian.Uint16(frame[6:8]))) != nil || req.Acks != -1 {
		return true
	}
	timeout := time.NewTimer(time.Until(since.Add(m.timeout)))
	defer timeout.Stop()
	for {
		m.mu.Lock()
		done := m.state[f.index] != stateIn || m.heardSince(f.index, since)
		changed := m.changed
		m.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-changed:
		case <-timeout.C:
			return false
		}
	}
}

// timedOut is the answer to a produce request that no majority acknowledged.
func timedOut(req *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(req.Version)
	for _, t := range req.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, kerr.RequestTimedOut.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// brokerList renders "brokers 0, 2" or "broker 0 only" or "nobody".
func brokerList(ids []int) string {
	switch len(ids) {
	case 0:
		return "nobody (its view is stale)"
	case 1:
		return fmt.Sprintf("broker %d only", ids[0])
	}
	s := make([]string, len(ids))
	for k, id := range ids {
		s[k] = strconv.Itoa(id)
	}
	return "brokers " + strings.Join(s, ", ")
}

// take removes node i's orphan logs and returns them.
func (m *membership) take(i int) map[topicPartition]*orphanLog {
	m.mu.Lock()
	defer m.mu.Unlock()
	logs := m.orphans[i]
	m.orphans[i] = nil
	return logs
}

// discard drops node i's orphan log and says what it held ("" when nothing).
func (m *membership) discard(i int) string {
	logs := m.take(i)
	if len(logs) == 0 {
		return ""
	}
	tps := sortedParts(logs)
	var total, dropped int64
	parts := make([]string, 0, len(tps))
	for _, tp := range tps {
		l := logs[tp]
		total += l.next - l.start
		dropped += l.dropped
		parts = append(parts, fmt.Sprintf("%s %d offsets %d-%d", tp.topic, tp.partition, l.start, l.next-1))
	}
	out := fmt.Sprintf("; discarded its %d orphan record(s) (%s), never applied", total, strings.Join(parts, ", "))
	if dropped > 0 {
		out += fmt.Sprintf(", %d of them acks=all writes it acknowledged (ack-drop)", dropped)
	}
	return out
}

// orphan appends count records of tp to node i's orphan log, which starts
// at end (the partition's high watermark) when new, and returns their
// first offset.
func (m *membership) orphan(i int, tp topicPartition, end int64, records []byte, acksAll bool) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.orphans[i] == nil {
		m.orphans[i] = map[topicPartition]*orphanLog{}
	}
	l := m.orphans[i][tp]
	if l == nil {
		l = &orphanLog{start: end, next: end}
		m.orphans[i][tp] = l
	}
	base := l.next
	count := countRecords(records)
	l.next += count
	if acksAll {
		l.dropped += count
	}
	if m.mode == MembershipHealthy {
		l.batches = append(l.batches, records)
	}
	return base
}

// memberNodeChanged tells the rule that op was done to broker i; under b.mu.
// A node going down is out: barred, its view and orphans gone with it.
func (b *Backend) memberNodeChanged(op cluster.Op, i int) {
	m := &b.member
	if !m.on() || (op != cluster.OpKill && op != cluster.OpStop) {
		return
	}
	orphans := m.discard(i)
	m.mu.Lock()
	m.views[i] = memberView{}
	m.state[i], m.lostAt[i] = stateOut, time.Time{}
	m.mu.Unlock()
	if m.bars() {
		b.embedded.Bar(int32(i), true)
	}
	if orphans != "" {
		b.event("membership: broker %d went down%s", i, orphans)
	}
}

// view handles POST /view?index=I&addr=HOST:PORT&heard=J:MS,...: node I
// heard peer J MS milliseconds ago. It answers the node's state (member,
// isolated or out).
func (b *Backend) view(w http.ResponseWriter, r *http.Request) {
	i, addr, ok := b.nodeQuery(w, r)
	if !ok {
		return
	}
	m := &b.member
	if !m.on() {
		http.Error(w, "this backend has no membership rule (start it with --membership healthy)", http.StatusConflict)
		return
	}
	now := time.Now()
	heard := map[int]time.Time{}
	for _, kv := range strings.Split(r.URL.Query().Get("heard"), ",") {
		if kv == "" {
			continue
		}
		j, ms, found := strings.Cut(kv, ":")
		peer, err1 := strconv.Atoi(j)
		ago, err2 := strconv.Atoi(ms)
		if !found || err1 != nil || err2 != nil || peer < 0 || peer >= m.n || ago < 0 {
			http.Error(w, fmt.Sprintf("heard %q: want INDEX:MILLISECONDS,...", kv), http.StatusBadRequest)
			return
		}
		heard[peer] = now.Add(-time.Duration(ago) * time.Millisecond)
	}
	m.mu.Lock()
	if m.addrs[i] != addr {
		m.mu.Unlock()
		http.Error(w, fmt.Sprintf("broker %d is not registered to a node at %s", i, addr), http.StatusConflict)
		return
	}
	m.views[i] = memberView{at: now, heard: heard}
	m.changedLocked()
	state := m.state[i]
	m.mu.Unlock()
	_, _ = fmt.Fprintln(w, state)
}

// checkMember answers a registration that does not match the backend's rule
// (a node with peers on a backend without one, or the reverse) and
// returns false.
func (b *Backend) checkMember(w http.ResponseWriter, r *http.Request) bool {
	member := r.URL.Query().Get("member") == "1"
	switch {
	case member && !b.member.on():
		http.Error(w, "the node heartbeats its peers (--raft-listen, --peers) but this backend has no membership rule: start it with --membership healthy, or drop the node's peer flags", http.StatusConflict)
		return false
	case !member && b.member.on():
		http.Error(w, fmt.Sprintf("this backend's membership rule (--membership %s) judges nodes by their heartbeats: give the node --raft-listen and --peers", b.member.mode), http.StatusConflict)
		return false
	}
	return true
}

// outOf returns, per broker, whether it may not lead (nil without a rule
// that bars).
func (m *membership) outOf() []bool {
	if !m.bars() {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]bool, m.n)
	for i, s := range m.state {
		out[i] = s == stateOut
	}
	return out
}

// leaderless makes a metadata answer show no leader for the partitions led
// by a broker that may not lead: no broker had a majority to take them.
func (m *membership) leaderless(resp *kmsg.MetadataResponse) {
	if !m.bars() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for ti := range resp.Topics {
		for pi := range resp.Topics[ti].Partitions {
			p := &resp.Topics[ti].Partitions[pi]
			if p.Leader >= 0 && int(p.Leader) < m.n && m.state[p.Leader] == stateOut {
				p.Leader, p.ErrorCode = -1, kerr.LeaderNotAvailable.Code
			}
		}
	}
}

// hold answers, in the broker's place, a produce request to broker f.index
// while its node has no majority (isolated or out), and says how long to
// wait before answering. Out, every partition is NOT_LEADER_OR_FOLLOWER.
// Isolated, for the partitions it still leads: acks=all times out (in
// ack-drop mode it is acknowledged), the rest go to its orphan log,
// acknowledged at offsets continuing the partition's high watermark and
// never applied. Nothing reaches the shared log.
func (f *front) hold(req *kmsg.ProduceRequest, st memberState) (*kmsg.ProduceResponse, time.Duration) {
	m := f.r.member
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(req.Version)
	var ends map[topicPartition]int64
	var err error
	if st == stateIsolated {
		var tps []topicPartition
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				tps = append(tps, topicPartition{f.r.name(t.Topic, t.TopicID), p.Partition})
			}
		}
		ends, err = listEnds(f.target, tps)
	}
	var wait time.Duration
	timeOut := func() {
		rp := min(heldWait, time.Duration(req.TimeoutMillis)*time.Millisecond)
		wait = max(wait, rp)
	}
	for _, t := range req.Topics {
		name := f.r.name(t.Topic, t.TopicID)
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			tp := topicPartition{name, p.Partition}
			end, leads := ends[tp]
			switch {
			case st == stateOut || (err == nil && !leads):
				rp.ErrorCode = kerr.NotLeaderForPartition.Code
			case err != nil: // its own broker did not answer: nothing acknowledged
				rp.ErrorCode = kerr.RequestTimedOut.Code
				timeOut()
			case req.Acks == -1 && m.mode != MembershipAckDrop:
				rp.ErrorCode = kerr.RequestTimedOut.Code
				timeOut()
			default:
				rp.BaseOffset = m.orphan(f.index, tp, end, p.Records, req.Acks == -1)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, wait
}

// listEnds asks the broker at target for the high watermark of each of tps
// it leads; the partitions it does not lead are left out.
func listEnds(target string, tps []topicPartition) (map[topicPartition]int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(1)
	req.ReplicaID = -1
	idx := map[string]int{}
	for _, tp := range tps {
		if tp.topic == "" {
			continue
		}
		k, ok := idx[tp.topic]
		if !ok {
			k = len(req.Topics)
			idx[tp.topic] = k
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = tp.topic
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = tp.partition, -1
		req.Topics[k].Partitions = append(req.Topics[k].Partitions, rp)
	}
	resp := kmsg.NewPtrListOffsetsResponse()
	resp.SetVersion(1)
	if err := roundTrip(target, req, resp); err != nil {
		return nil, err
	}
	ends := map[topicPartition]int64{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode == 0 {
				ends[topicPartition{t.Topic, p.Partition}] = p.Offset
			}
		}
	}
	return ends, nil
}

// apiVersionsFrame is an ApiVersions v0 request with correlation id corr:
// what a front sends its broker in place of a request it answers itself, so
// that its answer goes back in order with the others.
func apiVersionsFrame(corr int32) []byte {
	b := make([]byte, 14)
	binary.BigEndian.PutUint32(b, 10)
	binary.BigEndian.PutUint16(b[4:], uint16(kmsg.ApiVersions.Int16()))
	binary.BigEndian.PutUint32(b[8:], uint32(corr))
	binary.BigEndian.PutUint16(b[12:], 0xFFFF) // no client id
	return b
}

// answerFrame encodes resp as the answer with correlation id corr.
func answerFrame(corr int32, resp kmsg.Response) []byte {
	out := make([]byte, 8, 128)
	binary.BigEndian.PutUint32(out[4:], uint32(corr))
	if resp.IsFlexible() {
		out = append(out, 0) // no tagged fields in the header
	}
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out
}

// applyOrphans writes node i's orphans to the shared log, through its own
// broker, one batch at a time, and says what it did; under b.mu and m.gate.
// Nothing else wrote to its partitions meanwhile (it led them, and held
// every write), so they land at the offsets it acknowledged; when they do
// not (a transaction marker came between), the event says so.
func (b *Backend) applyOrphans(i int) string {
	logs := b.member.take(i)
	if len(logs) == 0 {
		return ""
	}
	target := b.repl.front[i].target
	var parts []string
	var total int64
	for _, tp := range sortedParts(logs) {
		l := logs[tp]
		want, note := l.start, ""
		for k, batch := range l.batches {
			got, err := produceBatch(target, tp, batch)
			switch {
			case err != nil:
				note = fmt.Sprintf(": %d batch(es) from offset %d not applied (%v): lost", len(l.batches)-k, want, err)
			case got != want:
				note = fmt.Sprintf(": a batch acknowledged at offset %d landed at %d", want, got)
			}
			if err != nil {
				break
			}
			want += countRecords(batch)
		}
		total += l.next - l.start
		parts = append(parts, fmt.Sprintf("%s %d offsets %d-%d%s", tp.topic, tp.partition, l.start, l.next-1, note))
	}
	return fmt.Sprintf("; applied its %d orphan record(s) (%s), as a Raft leader that kept its term replicates its log", total, strings.Join(parts, ", "))
}

// sortedParts lists the partitions of logs in order.
func sortedParts(logs map[topicPartition]*orphanLog) []topicPartition {
	tps := make([]topicPartition, 0, len(logs))
	for tp := range logs {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(a, c int) bool {
		if tps[a].topic != tps[c].topic {
			return tps[a].topic < tps[c].topic
		}
		return tps[a].partition < tps[c].partition
	})
	return tps
}

// produceBatch writes one record batch to tp at the broker at target with
// acks=all and returns its base offset.
func produceBatch(target string, tp topicPartition, batch []byte) (int64, error) {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(7)
	req.Acks, req.TimeoutMillis = -1, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = tp.topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = tp.partition, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrProduceResponse()
	resp.SetVersion(7)
	if err := roundTrip(target, req, resp); err != nil {
		return 0, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return 0, errors.New("an answer without the partition")
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		return 0, err
	}
	return p.BaseOffset, nil
}

// roundTrip sends req (a version without flexible headers) to the broker at
// target on a connection of its own and reads its answer into resp.
func roundTrip(target string, req kmsg.Request, resp kmsg.Response) error {
	conn, err := net.DialTimeout("tcp", target, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("chronik-e2e-front")).AppendRequest(nil, req, 1)); err != nil {
		return err
	}
	frame, err := readFrame(conn)
	if err != nil {
		return err
	}
	if len(frame) < 8 {
		return errors.New("a short answer")
	}
	return resp.ReadFrom(frame[8:])
}

// registered notes that broker i's node is at addr ("": it went).
func (m *membership) registered(i int, addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addrs[i] = addr
}
