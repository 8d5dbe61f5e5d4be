package scenarios

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// watchInterval is how often the watcher asks for metadata: the resolution
// of leader-change times in the report.
const watchInterval = 20 * time.Millisecond

// Deadlines of the watcher's requests: short, so that one dead or frozen
// broker costs a poll, not a scenario.
const (
	watchDial = time.Second
	watchRead = 2 * time.Second
)

// partState is one partition as one metadata answer showed it.
type partState struct {
	id            int32
	leader        int32 // -1: none
	replicas, isr []int32
	errCode       sarama.KError
}

// snapshot is one metadata answer about the cluster and the topic.
type snapshot struct {
	at      time.Time
	brokers []int32     // sorted
	parts   []partState // by partition id
}

// leaderless returns the partitions without a leader.
func (s snapshot) leaderless() []int32 {
	var out []int32
	for _, p := range s.parts {
		if p.leader < 0 {
			out = append(out, p.id)
		}
	}
	return out
}

// ledBy maps each broker to the partitions it leads.
func (s snapshot) ledBy() map[int32][]int32 {
	m := map[int32][]int32{}
	for _, b := range s.brokers {
		m[b] = nil
	}
	for _, p := range s.parts {
		if p.leader >= 0 {
			m[p.leader] = append(m[p.leader], p.id)
		}
	}
	return m
}

// leaderOf returns partition p's leader, -1 if none or unknown.
func (s snapshot) leaderOf(p int32) int32 {
	if int(p) < len(s.parts) {
		return s.parts[p].leader
	}
	return -1
}

// fullISR reports whether every partition has a leader and at least rf
// in-sync replicas, all of its replicas, including node when it is one.
func (s snapshot) fullISR(rf int, node int32) bool {
	if len(s.parts) == 0 {
		return false
	}
	for _, p := range s.parts {
		if p.leader < 0 || len(p.isr) < rf || len(p.isr) < len(p.replicas) {
			return false
		}
		if slices.Contains(p.replicas, node) && !slices.Contains(p.isr, node) {
			return false
		}
	}
	return true
}

// poll is one metadata request: when it was sent and when its answer came.
type poll struct{ sent, at time.Time }

// leaderChange is a partition's leader changing between two metadata answers.
type leaderChange struct {
	at       time.Time
	from, to int32
}

// watcher polls the cluster's metadata for one topic, from whichever node
// answers, and keeps the latest answer and every partition's leader changes.
type watcher struct {
	k     *faultKit
	topic string
	addrs []string
	cfg   *sarama.Config

	mu      sync.Mutex
	avoid   []string // addresses not to ask while others answer: nodes a network fault cut off
	initial snapshot // the first answer
	last    snapshot
	polls   []poll // every answer
	changes map[int32][]leaderChange
	updated chan struct{} // closed and replaced on every answer

	cancel context.CancelFunc
	done   chan struct{}
}

// startWatcher starts polling metadata for topic; stop ends it.
func startWatcher(k *faultKit, topic string) *watcher {
	cfg := k.env.Config()
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = watchDial, watchRead, watchRead
	addrs := slices.Clone(k.env.Cluster.Bootstrap())
	for _, n := range k.nodes {
		if !slices.Contains(addrs, n.Addr) {
			addrs = append(addrs, n.Addr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{k: k, topic: topic, addrs: addrs, cfg: cfg, changes: map[int32][]leaderChange{},
		updated: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	k.env.Panics.Go("metadata watcher of "+topic, func() { w.run(ctx) })
	return w
}

func (w *watcher) stop() {
	w.cancel()
	<-w.done
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	var b *sarama.Broker
	next := 0
	defer func() {
		if b != nil {
			_ = b.Close()
		}
	}()
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		if b != nil && w.avoided(b.Addr()) {
			_ = b.Close()
			b = nil
		}
		if b == nil {
			addr := w.addrs[next%len(w.addrs)]
			for range w.addrs {
				if !w.avoided(addr) {
					break
				}
				next++
				addr = w.addrs[next%len(w.addrs)]
			}
			b = sarama.NewBroker(addr)
			next++
			_ = b.Open(w.cfg) // connects in the background; the request below waits for it
		}
		sent := time.Now()
		resp, err := b.GetMetadata(sarama.NewMetadataRequest(w.cfg.Version, []string{w.topic}))
		if err == nil {
			w.record(sent, time.Now(), resp)
		} else {
			_ = b.Close()
			b = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// setAvoid makes the watcher ask nodes other than ids while one of them
// answers (a node cut off from its peers may still show itself leading);
// nil asks every node again.
func (w *watcher) setAvoid(ids []int32) {
	var addrs []string
	for _, id := range ids {
		if a := w.k.node(id).Addr; a != "" {
			addrs = append(addrs, a)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.avoid = addrs
}

// avoided reports whether addr is a node not to ask, when another may be.
func (w *watcher) avoided(addr string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Contains(w.avoid, addr) && len(w.avoid) < len(w.addrs)
}

// record keeps one metadata answer and notes on the timeline which
// partitions changed leader and which nodes joined or left the broker list.
func (w *watcher) record(sent, at time.Time, resp *sarama.MetadataResponse) {
	s := snapshot{at: at}
	for _, b := range resp.Brokers {
		s.brokers = append(s.brokers, b.ID())
	}
	slices.Sort(s.brokers)
	for _, t := range resp.Topics {
		if t.Name != w.topic || t.Err != sarama.ErrNoError {
			continue
		}
		for _, p := range t.Partitions {
			leader := p.Leader
			if p.Err == sarama.ErrLeaderNotAvailable {
				leader = -1
			}
			s.parts = append(s.parts, partState{id: p.ID, leader: leader, replicas: p.Replicas, isr: p.Isr, errCode: p.Err})
		}
	}
	sort.Slice(s.parts, func(i, j int) bool { return s.parts[i].id < s.parts[j].id })

	w.mu.Lock()
	prev := w.last
	var moved, lost []string
	if len(prev.parts) > 0 {
		for _, p := range s.parts {
			from := prev.leaderOf(p.id)
			if p.leader == from {
				continue
			}
			w.changes[p.id] = append(w.changes[p.id], leaderChange{at: at, from: from, to: p.leader})
			if p.leader < 0 {
				lost = append(lost, fmt.Sprintf("p%d (was node %d)", p.id, from))
			} else {
				moved = append(moved, fmt.Sprintf("p%d %s→%d", p.id, nodeOrNone(from), p.leader))
			}
		}
	}
	var gone, back []int32
	if prev.brokers != nil {
		for _, b := range prev.brokers {
			if !slices.Contains(s.brokers, b) {
				gone = append(gone, b)
			}
		}
		for _, b := range s.brokers {
			if !slices.Contains(prev.brokers, b) {
				back = append(back, b)
			}
		}
	}
	if w.initial.at.IsZero() {
		w.initial = s
	}
	w.polls = append(w.polls, poll{sent: sent, at: at})
	w.last = s
	close(w.updated)
	w.updated = make(chan struct{})
	w.mu.Unlock()

	k := w.k
	k.observeISR(w.topic, s)
	if k.net != nil && len(prev.parts) > 0 && k.faulted() {
		k.noteISRChanges(prev, s)
	}
	if len(lost) > 0 {
		k.event(at, report.EventNoLeader, -1, -1, "metadata shows no leader for %s", strings.Join(lost, ", "))
	}
	if len(moved) > 0 {
		k.event(at, report.EventNewLeader, -1, -1, "new leaders: %s", strings.Join(moved, ", "))
	}
	for _, b := range gone {
		k.event(at, report.EventNodeGone, b, -1, "metadata no longer lists node %d", b)
	}
	for _, b := range back {
		k.event(at, report.EventNodeListed, b, -1, "metadata lists node %d", b)
	}
}

func nodeOrNone(id int32) string {
	if id < 0 {
		return "none"
	}
	return fmt.Sprint(id)
}

// snapshot returns the latest metadata answer.
func (w *watcher) snapshot() snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// leaderChanges returns partition p's leader changes in [from, to].
func (w *watcher) leaderChanges(p int32, from, to time.Time) []leaderChange {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []leaderChange
	for _, c := range w.changes[p] {
		if !c.at.Before(from) && !c.at.After(to) {
			out = append(out, c)
		}
	}
	return out
}

// leaderAt returns partition p's leader as known at t: the last change at
// or before t, or the first answer's.
func (w *watcher) leaderAt(p int32, t time.Time, initial int32) int32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	leader := initial
	for _, c := range w.changes[p] {
		if c.at.After(t) {
			break
		}
		leader = c.to
	}
	return leader
}

// seenAfter returns when the answer came to the first metadata request
// sent after t: the first answer that shows what happened before t. Without
// such an answer, it returns t.
func (w *watcher) seenAfter(t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	i, _ := slices.BinarySearchFunc(w.polls, t, func(p poll, t time.Time) int { return p.sent.Compare(t) })
	if i < len(w.polls) {
		return w.polls[i].at
	}
	return t
}

// waitFor waits, at most timeout, for a metadata answer that satisfies
// cond, and returns it. At the timeout it returns the last answer and an
// error; when ctx ends first, ctx's reason.
func (w *watcher) waitFor(ctx context.Context, timeout time.Duration, cond func(snapshot) bool) (snapshot, error) {
	limit := time.NewTimer(timeout)
	defer limit.Stop()
	for {
		w.mu.Lock()
		s, updated := w.last, w.updated
		w.mu.Unlock()
		if s.parts != nil && cond(s) {
			return s, nil
		}
		select {
		case <-updated:
		case <-limit.C:
			if s.at.IsZero() {
				return s, fmt.Errorf("no node answered a metadata request for topic %s within %s", w.topic, timeout)
			}
			return s, fmt.Errorf("not so within %s", timeout)
		case <-ctx.Done():
			return s, fmt.Errorf("stopped by %s", stopped(ctx))
		}
	}
}
