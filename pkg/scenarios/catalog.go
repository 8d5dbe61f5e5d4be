package scenarios

// A cluster's catalog as each broker sees it: which topics of a set every
// broker lists, each partition led. The topic storm polls it until every
// broker lists exactly the topics it created, and names what differs when
// they do not: topics no broker lists (creation loss), topics some brokers
// list and others do not (divergence, per broker), topics listed without a
// leader, brokers that do not answer or list too few brokers.

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

// Deadlines of one catalog poll: a broker listing thousands of topics while
// it is busy creating them may take seconds to answer.
const (
	catalogDial = 2 * time.Second
	catalogRead = 15 * time.Second
)

// maxNamed bounds the topic names one finding lists.
const maxNamed = 10

// catalogView is what one broker's metadata listed of the topics with a prefix.
type catalogView struct {
	id   int32
	addr string
	err  error // the broker did not answer; the rest is empty

	brokers    int                // brokers its metadata lists
	listed     map[string]bool    // topics with the prefix it lists, without an error
	leaderless map[string][]int32 // listed topics whose partitions (of 0..want-1) are missing or unled
}

// catalogPoller asks each broker directly, on a connection of its own that
// it keeps between polls, for every topic.
type catalogPoller struct {
	env        *Env
	cfg        *sarama.Config
	prefix     string
	partitions int
	brokers    []report.Broker

	mu    sync.Mutex
	conns map[int32]*sarama.Broker
}

func newCatalogPoller(env *Env, prefix string, partitions int, brokers []report.Broker) *catalogPoller {
	cfg := env.Config()
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = catalogDial, catalogRead, catalogRead
	return &catalogPoller{env: env, cfg: cfg, prefix: prefix, partitions: partitions, brokers: brokers, conns: map[int32]*sarama.Broker{}}
}

// close closes the poller's connections.
func (c *catalogPoller) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, b := range c.conns {
		_ = b.Close()
		delete(c.conns, id)
	}
}

// poll asks every broker at once and returns their views in broker order.
func (c *catalogPoller) poll(ctx context.Context) []*catalogView {
	views := make([]*catalogView, len(c.brokers))
	var wg sync.WaitGroup
	for i, b := range c.brokers {
		wg.Add(1)
		c.env.Panics.Go(fmt.Sprintf("catalog poll of broker %d", b.ID), func() {
			defer wg.Done()
			views[i] = c.ask(ctx, b)
		})
	}
	wg.Wait()
	return views
}

// ask asks broker b for every topic; a connection that failed is opened again next time.
func (c *catalogPoller) ask(ctx context.Context, b report.Broker) *catalogView {
	v := &catalogView{id: b.ID, addr: b.Addr}
	c.mu.Lock()
	conn := c.conns[b.ID]
	c.mu.Unlock()
	resp, err := within(ctx, func() (*sarama.MetadataResponse, error) {
		if conn == nil {
			conn = sarama.NewBroker(b.Addr)
			if err := conn.Open(c.cfg); err != nil {
				return nil, err
			}
		}
		return conn.GetMetadata(sarama.NewMetadataRequest(c.cfg.Version, nil))
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if conn != nil { // Close waits for answers still due
			c.env.Panics.Go(fmt.Sprintf("close metadata connection to broker %d", b.ID), func() { _ = conn.Close() })
		}
		delete(c.conns, b.ID)
		v.err = err
		return v
	}
	c.conns[b.ID] = conn
	v.brokers = len(resp.Brokers)
	v.listed = map[string]bool{}
	v.leaderless = map[string][]int32{}
	for _, t := range resp.Topics {
		if !strings.HasPrefix(t.Name, c.prefix) || t.Err != sarama.ErrNoError {
			continue
		}
		v.listed[t.Name] = true
		led := map[int32]bool{}
		for _, p := range t.Partitions {
			if p.Leader >= 0 && (p.Err == sarama.ErrNoError || p.Err == sarama.ErrReplicaNotAvailable) {
				led[p.ID] = true
			}
		}
		for p := int32(0); p < int32(c.partitions); p++ {
			if !led[p] {
				v.leaderless[t.Name] = append(v.leaderless[t.Name], p)
			}
		}
	}
	return v
}

// catalogGap is how the brokers' views differ from the topics wanted and
// from each other; empty when every broker lists exactly the wanted topics,
// each partition led.
type catalogGap struct {
	want       int
	lost       []string           // wanted, listed by no broker that answered
	missing    map[int32][]string // per broker: wanted, listed by another broker, not by it
	leaderless map[int32][]string // per broker: listed with a partition missing or unled
	extra      map[int32][]string // per broker: listed, not wanted
	silent     []*catalogView     // brokers that did not answer
	short      map[int32]int      // brokers whose metadata lists fewer than nodes brokers
	listed     map[int32]int      // per broker: wanted topics it lists
	answered   []int32            // brokers that answered
	nodes      int
}

// converged reports whether every broker answered and lists exactly the
// wanted topics, each partition led, and every broker.
func (g *catalogGap) converged() bool {
	return len(g.lost) == 0 && len(g.missing) == 0 && len(g.leaderless) == 0 && len(g.extra) == 0 &&
		len(g.silent) == 0 && len(g.short) == 0
}

// compareCatalogs compares the views with want and each other; nodes is
// how many brokers each broker's metadata must list.
func compareCatalogs(views []*catalogView, want []string, nodes int) *catalogGap {
	g := &catalogGap{want: len(want), missing: map[int32][]string{}, leaderless: map[int32][]string{},
		extra: map[int32][]string{}, short: map[int32]int{}, listed: map[int32]int{}, nodes: nodes}
	wanted := make(map[string]bool, len(want))
	for _, t := range want {
		wanted[t] = true
	}
	var ok []*catalogView
	for _, v := range views {
		if v.err != nil {
			g.silent = append(g.silent, v)
			continue
		}
		ok = append(ok, v)
		g.answered = append(g.answered, v.id)
		if v.brokers < nodes {
			g.short[v.id] = v.brokers
		}
	}
	for _, t := range want {
		by := 0
		for _, v := range ok {
			if v.listed[t] {
				by++
			}
		}
		if by == 0 && len(ok) > 0 {
			g.lost = append(g.lost, t)
			continue
		}
		for _, v := range ok {
			if !v.listed[t] {
				g.missing[v.id] = append(g.missing[v.id], t)
			}
		}
	}
	for _, v := range ok {
		for t := range v.listed {
			if !wanted[t] {
				g.extra[v.id] = append(g.extra[v.id], t)
			} else {
				g.listed[v.id]++
			}
		}
		for t := range v.leaderless {
			if wanted[t] {
				g.leaderless[v.id] = append(g.leaderless[v.id], t)
			}
		}
		slices.Sort(g.extra[v.id])
		slices.Sort(g.leaderless[v.id])
		if len(g.extra[v.id]) == 0 {
			delete(g.extra, v.id)
		}
		if len(g.leaderless[v.id]) == 0 {
			delete(g.leaderless, v.id)
		}
	}
	return g
}

// findings describes the gap, one line per kind and broker; loss names
// topics no broker lists ("creation loss"); views give the partitions.
func (g *catalogGap) findings(views []*catalogView, waited time.Duration, loss string) []string {
	var out []string
	for _, v := range g.silent {
		out = append(out, fmt.Sprintf("broker %d at %s did not answer metadata: %v", v.id, v.addr, v.err))
	}
	if len(g.lost) > 0 {
		out = append(out, fmt.Sprintf("%s: %d of %d topic(s) whose creation the cluster acknowledged are listed by no broker (%s) after %s: %s",
			loss, len(g.lost), g.want, brokersNamed(g.answered), waited.Round(time.Millisecond), nameSome(g.lost)))
	}
	byID := map[int32]*catalogView{}
	for _, v := range views {
		byID[v.id] = v
	}
	for _, id := range sortedKeys(g.missing) {
		miss := g.missing[id]
		var others []int32 // the brokers that list any of them
		for _, o := range g.answered {
			if o != id && slices.ContainsFunc(miss, func(t string) bool { return byID[o].listed[t] }) {
				others = append(others, o)
			}
		}
		out = append(out, fmt.Sprintf("catalog divergence: broker %d lists %d of %d topic(s); it is missing %d that %s %s: %s",
			id, g.listed[id], g.want, len(miss), brokersNamed(others), listOf(others), nameSome(miss)))
	}
	for _, id := range sortedKeys(g.leaderless) {
		ts := g.leaderless[id]
		ex := make([]string, 0, min(len(ts), maxNamed))
		for _, t := range ts[:min(len(ts), maxNamed)] {
			ex = append(ex, fmt.Sprintf("%s (partitions %v)", t, byID[id].leaderless[t]))
		}
		more := ""
		if len(ts) > maxNamed {
			more = fmt.Sprintf(" … and %d more", len(ts)-maxNamed)
		}
		out = append(out, fmt.Sprintf("broker %d lists %d topic(s) with partitions missing or without a leader: %s%s", id, len(ts), strings.Join(ex, ", "), more))
	}
	for _, id := range sortedKeys(g.extra) {
		out = append(out, fmt.Sprintf("broker %d lists %d topic(s) of this storm that were not created (their CreateTopics failed or was never sent): %s", id, len(g.extra[id]), nameSome(g.extra[id])))
	}
	for _, id := range sortedKeys(g.short) {
		out = append(out, fmt.Sprintf("broker %d's metadata lists %d broker(s), want %d: a node is missing from the cluster", id, g.short[id], g.nodes))
	}
	return out
}

// progress says how far the brokers got: "broker 0: 28/30, broker 1: 30/30".
func (g *catalogGap) progress() string {
	ids := slices.Clone(g.answered)
	slices.Sort(ids)
	parts := make([]string, 0, len(ids)+len(g.silent))
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("broker %d: %d/%d", id, g.listed[id], g.want))
	}
	for _, v := range g.silent {
		parts = append(parts, fmt.Sprintf("broker %d: no answer", v.id))
	}
	return strings.Join(parts, ", ")
}

// listOf is "lists" or "list" for brokersNamed(ids).
func listOf(ids []int32) string {
	if len(ids) == 1 {
		return "lists"
	}
	return "list"
}

// nameSome lists up to maxNamed names, sorted, and how many more there are.
func nameSome(names []string) string {
	s := slices.Clone(names)
	sort.Strings(s)
	if len(s) <= maxNamed {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s … and %d more", strings.Join(s[:maxNamed], ", "), len(s)-maxNamed)
}

func sortedKeys[V any](m map[int32]V) []int32 {
	ids := make([]int32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
