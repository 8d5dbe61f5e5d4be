package cluster

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Embedded is an in-process kfake cluster on 127.0.0.1 that places partition
// leaders round-robin over its brokers, as Kafka and Chronik do. Its nodes
// can be killed, stopped, paused and started again (see Do).
type Embedded struct {
	net     *netControl
	opts    []kfake.Opt // the caller's options, applied again on a whole-cluster restart
	dataDir string      // kfake's data directory; "" keeps the data in memory
	ownDir  bool        // dataDir was made by StartEmbeddedDurable and is removed by Close
	nodes   []int32     // broker ids, ascending (kfake numbers them from 0)
	ports   []int       // ports[i] is node i's listen port

	opMu sync.Mutex // serialises node operations

	mu      sync.Mutex
	kc      *kfake.Cluster  // nil while every node is down
	down    map[int32]bool  // nodes killed or stopped
	barred  map[int32]bool  // nodes up that may not lead (see Bar)
	topics  map[string]bool // every topic created, for placing leaders after a membership change
	pending map[string]bool // topics created or grown whose leaders are not placed yet
	// holding is set while hold holds every request; placing is the
	// Metadata request placeLeaders slept last. kfake races (inside
	// bsleep) when one request is slept twice, so each request is slept
	// by one of them only.
	holding bool
	placing kmsg.Request
}

// groupMinSessionTimeout lets consumer groups use short session timeouts on
// the embedded cluster (kfake's own minimum is 6s), so that rebalances in
// tests take milliseconds, not seconds.
const groupMinSessionTimeout = 100 * time.Millisecond

// StartEmbedded starts an embedded cluster of n brokers on free loopback
// ports, its data in memory: its nodes can be killed and started again, but
// not all of them at once. Extra kfake options (ports) may be passed.
func StartEmbedded(n int, opts ...kfake.Opt) (*Embedded, error) {
	return startEmbedded(n, "", opts)
}

// StartEmbeddedDurable is StartEmbedded with the data in a temporary
// directory that Close removes, so that it survives a restart of the whole
// cluster: the embedded cluster of a run, whose fault scenarios restart it.
func StartEmbeddedDurable(n int, opts ...kfake.Opt) (*Embedded, error) {
	dir, err := os.MkdirTemp("", "chronik-e2e-kfake-")
	if err != nil {
		return nil, fmt.Errorf("start embedded cluster: data directory: %w", err)
	}
	e, err := startEmbedded(n, dir, opts)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	e.ownDir = true
	return e, nil
}

func startEmbedded(n int, dataDir string, opts []kfake.Opt) (*Embedded, error) {
	e := &Embedded{
		net: newNetControl(), opts: opts, dataDir: dataDir,
		down: map[int32]bool{}, barred: map[int32]bool{}, topics: map[string]bool{}, pending: map[string]bool{},
	}
	kc, err := e.newKfake(kfake.NumBrokers(n))
	if err != nil {
		return nil, fmt.Errorf("start embedded cluster of %d brokers: %w", n, err)
	}
	var nodes []int32
	var ports []int
	for i, addr := range kc.ListenAddrs() {
		_, port, _ := net.SplitHostPort(addr)
		p, _ := strconv.Atoi(port)
		nodes = append(nodes, int32(i))
		ports = append(ports, p)
	}
	// kfake is serving already: its goroutine reads nodes in leaderFor,
	// under e.mu. Nothing changes them after this.
	e.mu.Lock()
	e.nodes, e.ports, e.kc = nodes, ports, kc
	e.mu.Unlock()
	return e, nil
}

// newKfake starts a kfake cluster with the embedded cluster's network, data
// directory and leader placement, and the caller's options last.
func (e *Embedded) newKfake(first ...kfake.Opt) (*kfake.Cluster, error) {
	opts := append(first,
		kfake.ListenFn(e.net.listen),
		kfake.GroupMinSessionTimeout(groupMinSessionTimeout),
	)
	if e.dataDir != "" {
		opts = append(opts, kfake.DataDir(e.dataDir))
	}
	kc, err := kfake.NewCluster(append(opts, e.opts...)...)
	if err != nil {
		return nil, err
	}
	e.placeLeaders(kc)
	return kc, nil
}

// Kfake returns the underlying kfake cluster, for fault injection in tests;
// nil while every node is down. A whole-cluster restart replaces it.
func (e *Embedded) Kfake() *kfake.Cluster {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.kc
}

// Mode returns "embedded".
func (e *Embedded) Mode() string { return "embedded" }

// Bootstrap returns every broker's listen address, up or down.
func (e *Embedded) Bootstrap() []string {
	addrs := make([]string, len(e.ports))
	for i, p := range e.ports {
		addrs[i] = addrOf(p)
	}
	return addrs
}

func addrOf(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Close stops every broker and removes the data directory StartEmbeddedDurable made.
func (e *Embedded) Close() error {
	e.opMu.Lock()
	defer e.opMu.Unlock()
	e.mu.Lock()
	kc := e.kc
	e.kc = nil
	e.mu.Unlock()
	if kc != nil {
		kc.Close()
	}
	if e.ownDir {
		return os.RemoveAll(e.dataDir)
	}
	return nil
}

// placeLeaders installs controls on kc that note every created or grown
// topic and, before the next metadata request is answered, move its
// partitions' leaders round-robin over the brokers sorted by id. kfake alone
// picks leaders at random, which a healthy Kafka cluster does not do. The
// move runs inside SleepControl's wakeup, the one place a control may call
// into the cluster.
func (e *Embedded) placeLeaders(kc *kfake.Cluster) {
	note := func(req kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		e.mu.Lock()
		defer e.mu.Unlock()
		switch r := req.(type) {
		case *kmsg.CreateTopicsRequest:
			if !r.ValidateOnly {
				for _, t := range r.Topics {
					e.pending[t.Topic], e.topics[t.Topic] = true, true
				}
			}
		case *kmsg.CreatePartitionsRequest:
			if !r.ValidateOnly {
				for _, t := range r.Topics {
					e.pending[t.Topic], e.topics[t.Topic] = true, true
				}
			}
		}
		return nil, nil, false
	}
	kc.ControlKey(int16(kmsg.CreateTopics), note)
	kc.ControlKey(int16(kmsg.CreatePartitions), note)
	kc.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		e.mu.Lock()
		if e.holding { // hold sleeps it, and places the pending topics when it wakes
			e.mu.Unlock()
			return nil, nil, false
		}
		topics := e.pendingTopics()
		if len(topics) > 0 {
			e.placing = req
		}
		e.mu.Unlock()
		if len(topics) > 0 {
			kc.SleepControl(func() { e.place(kc, topics, true) })
		}
		return nil, nil, false
	})
}

// pendingTopics lists the topics whose leaders are not placed yet; e.mu is held.
func (e *Embedded) pendingTopics() []string {
	topics := make([]string, 0, len(e.pending))
	for t := range e.pending {
		topics = append(topics, t)
	}
	return topics
}

// place moves each topic's partition leaders to where leaderFor says. With
// pending, a topic that does not exist yet (its creation is still queued)
// stays pending; without, it is skipped. It returns how many leaders moved.
func (e *Embedded) place(kc *kfake.Cluster, topics []string, pending bool) int {
	moved := 0
	for _, t := range topics {
		if kc.LeaderFor(t, 0) < 0 {
			continue
		}
		for p := int32(0); ; p++ {
			cur := kc.LeaderFor(t, p)
			if cur < 0 {
				break
			}
			if want := e.leaderFor(p); want >= 0 && cur != want && kc.MoveTopicPartition(t, p, want) == nil {
				moved++
			}
		}
		if pending {
			e.mu.Lock()
			delete(e.pending, t)
			e.mu.Unlock()
		}
	}
	return moved
}

// placeAll places the leaders of every topic, after nodes left or joined.
func (e *Embedded) placeAll(kc *kfake.Cluster) int {
	e.mu.Lock()
	topics := make([]string, 0, len(e.topics))
	for t := range e.topics {
		topics = append(topics, t)
	}
	e.mu.Unlock()
	slices.Sort(topics)
	return e.place(kc, topics, false)
}

// leaderFor returns the leader partition p should have: its preferred
// broker, nodes[p mod N], when that broker is up and not barred, else the
// next such broker in id order (as Kafka elects the next in-sync replica);
// -1 when there is none, and the partition keeps the leader it has.
func (e *Embedded) leaderFor(p int32) int32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.nodes)
	for i := range n {
		id := e.nodes[(int(p)+i)%n]
		if !e.down[id] && !e.barred[id] {
			return id
		}
	}
	return -1
}

// Bar says whether node id, up, may lead partitions: a barred node is passed
// over as a down one is. Barring moves the leaderships it has to the next
// broker that may lead (when there is one); lifting the bar gives it back
// the partitions it prefers to lead. It returns how many leaderships moved.
// This is how pkg/testbroker's membership rule elects (a node that does not
// hear a majority may not lead); nothing else bars a node.
func (e *Embedded) Bar(id int32, barred bool) int {
	e.opMu.Lock()
	defer e.opMu.Unlock()
	e.mu.Lock()
	if barred {
		e.barred[id] = true
	} else {
		delete(e.barred, id)
	}
	kc := e.kc
	e.mu.Unlock()
	if kc == nil {
		return 0
	}
	return e.placeAll(kc)
}
