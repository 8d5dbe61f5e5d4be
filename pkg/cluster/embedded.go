package cluster

import (
	"fmt"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Embedded is an in-process kfake cluster on 127.0.0.1 that places partition
// leaders round-robin over its brokers, as Kafka and Chronik do.
type Embedded struct {
	kc *kfake.Cluster

	mu      sync.Mutex
	nodes   []int32         // broker ids, ascending (kfake numbers them from 0)
	pending map[string]bool // topics created or grown whose leaders are not placed yet
}

// StartEmbedded starts an embedded cluster of n brokers on free loopback ports.
// Extra kfake options (ports, data dir) may be passed.
func StartEmbedded(n int, opts ...kfake.Opt) (*Embedded, error) {
	opts = append([]kfake.Opt{kfake.NumBrokers(n), kfake.ListenFn(loopback)}, opts...)
	kc, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded cluster of %d brokers: %w", n, err)
	}
	e := &Embedded{kc: kc, pending: map[string]bool{}}
	for i := range n {
		e.nodes = append(e.nodes, int32(i))
	}
	e.placeLeaders()
	return e, nil
}

// Kfake returns the underlying kfake cluster, for fault injection in tests.
func (e *Embedded) Kfake() *kfake.Cluster { return e.kc }

// Mode returns "embedded".
func (e *Embedded) Mode() string { return "embedded" }

// Bootstrap returns the brokers' listen addresses.
func (e *Embedded) Bootstrap() []string { return e.kc.ListenAddrs() }

// Close stops every broker.
func (e *Embedded) Close() error {
	e.kc.Close()
	return nil
}

// placeLeaders installs controls that note every created or grown topic and,
// before the next metadata request is answered, move its partitions' leaders
// round-robin over the brokers sorted by id. kfake alone picks leaders at
// random, which a healthy Kafka cluster does not do. The move runs inside
// SleepControl's wakeup, the one place a control may call into the cluster.
func (e *Embedded) placeLeaders() {
	note := func(req kmsg.Request) (kmsg.Response, error, bool) {
		e.kc.KeepControl()
		e.mu.Lock()
		defer e.mu.Unlock()
		switch r := req.(type) {
		case *kmsg.CreateTopicsRequest:
			if !r.ValidateOnly {
				for _, t := range r.Topics {
					e.pending[t.Topic] = true
				}
			}
		case *kmsg.CreatePartitionsRequest:
			if !r.ValidateOnly {
				for _, t := range r.Topics {
					e.pending[t.Topic] = true
				}
			}
		}
		return nil, nil, false
	}
	e.kc.ControlKey(int16(kmsg.CreateTopics), note)
	e.kc.ControlKey(int16(kmsg.CreatePartitions), note)
	e.kc.ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
		e.kc.KeepControl()
		e.mu.Lock()
		topics := make([]string, 0, len(e.pending))
		for t := range e.pending {
			topics = append(topics, t)
		}
		e.mu.Unlock()
		if len(topics) > 0 {
			e.kc.SleepControl(func() { e.place(topics) })
		}
		return nil, nil, false
	})
}

// place moves each topic's partition leaders round-robin; a topic that does
// not exist yet (its creation is still queued) stays pending.
func (e *Embedded) place(topics []string) {
	nodes := e.nodeIDs()
	for _, t := range topics {
		if e.kc.LeaderFor(t, 0) < 0 {
			continue
		}
		for p := int32(0); ; p++ {
			cur := e.kc.LeaderFor(t, p)
			if cur < 0 {
				break
			}
			if want := nodes[int(p)%len(nodes)]; cur != want {
				_ = e.kc.MoveTopicPartition(t, p, want)
			}
		}
		e.mu.Lock()
		delete(e.pending, t)
		e.mu.Unlock()
	}
}

// nodeIDs returns the brokers' ids in ascending order.
func (e *Embedded) nodeIDs() []int32 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.nodes)
}
