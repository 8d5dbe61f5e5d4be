package scenarios

// metadata checks the cluster's shape against the profile as every broker
// sees it. It asks each advertised broker directly (a connection of its own,
// with the client's deadlines) for the brokers and the topic. All must agree
// on the broker list and on each partition's leader, replicas and in-sync
// replicas: a cluster still settling is given agreeWindow, polled; one that
// disagrees for longer fails, each disagreement naming the brokers and the
// partition ("broker 2 says partition 3 is led by 1, brokers 0, 1 say 2").
// Then, on the answer most brokers gave: exactly `nodes` brokers; the topic's
// partition count; every partition led by an advertised broker (Chronik
// before 2.10 led partitions by node ids no broker advertised), with RF
// replicas and RF in-sync replicas; and leaders spread evenly, no broker
// leading more than ceil(partitions/nodes) or fewer than floor(partitions/nodes).
//
// When topic-create did not create the topic only the brokers are checked: a
// wrong broker count, a disagreement or a broker that does not answer fails
// the scenario (a cluster missing brokers is often why creation failed); if
// the brokers are right the scenario is skipped, since the checks of its
// partitions had nothing to check, and a scenario is never failed for a
// prerequisite that failed.
//
// This is the check the old script lacked: a partition whose Raft group
// bootstrapped as a single node shows one replica or one in-sync replica.
// Cannot detect: a broker that reports a replica in sync when it is not
// (produce with acks=all and consume test that); replicas or in-sync replicas
// listed in another order by different brokers (membership is compared, not
// order).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// agreeWindow is how long the brokers' metadata answers may disagree before
// the disagreement fails the scenario: long enough for a Raft cluster to
// spread a leader change, short enough that a liar is caught in one run.
const agreeWindow = 10 * time.Second

func init() { Register(metadata{}) }

type metadata struct{}

var _ Sharded = metadata{}

// RunsSharded marks metadata as one a shard may run: it only reads the cluster's shape.
func (metadata) RunsSharded() {}

func (metadata) Name() string       { return "metadata" }
func (metadata) Requires() []string { return []string{"topic-create"} }
func (metadata) Summary() string {
	return "ask every broker for metadata, which must agree; check brokers, partitions, leaders, replicas, in-sync replicas and leader spread against the profile"
}

// brokerAnswer is one broker's metadata answer.
type brokerAnswer struct {
	id   int32
	addr string
	err  error // the broker did not answer; the rest is empty

	brokers  []report.Broker // sorted by id
	topicErr sarama.KError
	parts    map[int32]*sarama.PartitionMetadata
}

func (metadata) Run(ctx context.Context, env *Env, step *Step) error {
	var advertised []*sarama.Broker
	err := retryTransient(ctx, step, "describe cluster", func() error {
		bs, _, err := env.Admin.DescribeCluster()
		advertised = bs
		return err
	})
	if err != nil {
		return err
	}
	if len(advertised) == 0 {
		return errors.New("describe cluster: the cluster advertises no brokers")
	}

	answers, err := askUntilAgreed(ctx, env, step, cluster.Brokers(advertised))
	if err != nil {
		return err
	}
	var answered []*brokerAnswer
	for _, a := range answers {
		if a.err != nil {
			step.Failf("broker %d at %s did not answer metadata: %v", a.id, a.addr, a.err)
			continue
		}
		answered = append(answered, a)
	}
	if len(answered) == 0 {
		return fmt.Errorf("no broker answered metadata (asked %d)", len(answers))
	}
	for _, d := range disagreements(answered, env.Topic, env.TopicReady) {
		step.Failf("%s", d)
	}
	step.Metric("brokers_asked", float64(len(answers)))

	prof := env.Profile
	nodes := prof.Cluster.Nodes
	brokers := majority(answered, func(a *brokerAnswer) string { return brokerList(a.brokers) }).brokers
	env.Report.Cluster.Brokers = brokers
	step.Metric("brokers", float64(len(brokers)))
	if len(brokers) != nodes {
		step.Failf("cluster has %d broker(s) %v, profile wants cluster.nodes = %d", len(brokers), brokerIDs(brokers), nodes)
	}
	if !env.TopicReady {
		if step.Failed() {
			step.Notef("the partitions of topic %s were not checked: topic-create did not create it", env.Topic)
			return nil
		}
		return Skip("topic %s was not created (topic-create failed), so only the brokers were checked: %d, as every broker agrees", env.Topic, len(brokers))
	}
	if e := majority(answered, func(a *brokerAnswer) string { return topicErrName(a.topicErr) }).topicErr; e != sarama.ErrNoError {
		step.Failf("topic %s: metadata answers %s", env.Topic, topicErrName(e))
	}
	checkPartitions(env, step, consensus(answered), brokers)
	return nil
}

// topicErrName names a topic's error in a metadata answer, "no error" for none.
func topicErrName(e sarama.KError) string {
	if e == sarama.ErrNoError {
		return "no error"
	}
	return kafkaName(e)
}

// askUntilAgreed asks every broker for metadata, again and again with
// backoff, until their answers agree, agreeWindow has passed or ctx ends;
// it returns the last answers, one per broker in brokers.
func askUntilAgreed(ctx context.Context, env *Env, step *Step, brokers []report.Broker) ([]*brokerAnswer, error) {
	start := time.Now()
	wctx, cancel := context.WithTimeoutCause(ctx, agreeWindow, waitEnded(fmt.Sprintf("the %s agreement window passed", agreeWindow)))
	defer cancel()
	cfg := env.Config()
	var topics []string // none: every topic, of which only the brokers are read
	if env.TopicReady {
		topics = []string{env.Topic}
	}
	backoff := 100 * time.Millisecond
	for poll := 1; ; poll++ {
		answers := make([]*brokerAnswer, len(brokers))
		agreed := true
		for i, b := range brokers {
			answers[i] = askBroker(wctx, step, cfg, b, topics, env.Topic)
			agreed = agreed && answers[i].err == nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("metadata from every broker: %s", stopped(ctx))
		}
		agreed = agreed && len(disagreements(answers, env.Topic, env.TopicReady)) == 0
		if agreed || wctx.Err() != nil || time.Since(start)+backoff > agreeWindow {
			if agreed {
				step.Metric("agree_s", time.Since(start).Seconds())
			}
			if agreed && poll > 1 {
				step.Notef("the brokers' metadata agreed after %d polls in %s", poll, time.Since(start).Round(time.Millisecond))
			}
			return answers, nil
		}
		select {
		case <-wctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// askBroker asks broker b directly, on a connection of its own, for the
// brokers and topics (nil: all); transient errors are retried while ctx lives.
func askBroker(ctx context.Context, step *Step, cfg *sarama.Config, b report.Broker, topics []string, topic string) *brokerAnswer {
	a := &brokerAnswer{id: b.ID, addr: b.Addr}
	var resp *sarama.MetadataResponse
	a.err = retryTransient(ctx, step, fmt.Sprintf("metadata from broker %d at %s", b.ID, b.Addr), func() error {
		conn := sarama.NewBroker(b.Addr)
		if err := conn.Open(cfg); err != nil {
			return err
		}
		defer func() { _ = conn.Close() }()
		r, err := conn.GetMetadata(sarama.NewMetadataRequest(cfg.Version, topics))
		resp = r
		return err
	})
	if a.err != nil {
		return a
	}
	a.brokers = cluster.Brokers(resp.Brokers)
	a.parts = map[int32]*sarama.PartitionMetadata{}
	a.topicErr = sarama.ErrUnknownTopicOrPartition
	for _, t := range resp.Topics {
		if t.Name != topic {
			continue
		}
		a.topicErr = t.Err
		for _, p := range t.Partitions {
			a.parts[p.ID] = p
		}
	}
	return a
}

// disagreements describes every way the answers differ: the brokers they
// list and, when withTopic, the topic's error and each partition's leader,
// replicas and in-sync replicas. Brokers that did not answer are left out.
func disagreements(answers []*brokerAnswer, topic string, withTopic bool) []string {
	var ok []*brokerAnswer
	for _, a := range answers {
		if a.err == nil {
			ok = append(ok, a)
		}
	}
	out := differ(ok, "the brokers are %s", func(a *brokerAnswer) (string, bool) { return brokerList(a.brokers), true })
	if !withTopic {
		return out
	}
	out = append(out, differ(ok, "topic "+topic+" has %s", func(a *brokerAnswer) (string, bool) { return topicErrName(a.topicErr), true })...)
	ids := map[int32]bool{}
	for _, a := range ok {
		for id := range a.parts {
			ids[id] = true
		}
	}
	for _, p := range sortedIDSet(ids) {
		field := func(get func(*sarama.PartitionMetadata) string) func(*brokerAnswer) (string, bool) {
			return func(a *brokerAnswer) (string, bool) {
				pm, listed := a.parts[p]
				if !listed {
					return "", false
				}
				return get(pm), true
			}
		}
		out = append(out, differ(ok, fmt.Sprintf("partition %d is %%s", p), func(a *brokerAnswer) (string, bool) {
			if _, listed := a.parts[p]; listed {
				return "listed", true
			}
			return "not listed", true
		})...)
		out = append(out, differ(ok, fmt.Sprintf("partition %d is led by %%s", p), field(func(pm *sarama.PartitionMetadata) string { return strconv.Itoa(int(pm.Leader)) }))...)
		out = append(out, differ(ok, fmt.Sprintf("partition %d has replicas %%s", p), field(func(pm *sarama.PartitionMetadata) string { return idSet(pm.Replicas) }))...)
		out = append(out, differ(ok, fmt.Sprintf("partition %d has in-sync replicas %%s", p), field(func(pm *sarama.PartitionMetadata) string { return idSet(pm.Isr) }))...)
	}
	return out
}

// differ groups the answers by value (answers for which value says false
// are left out) and returns, for each group but the largest, one line that
// names its brokers and the largest group's: "broker 2 says partition 3 is
// led by 1, brokers 0, 1 say 2". claim holds one %s for the value.
func differ(answers []*brokerAnswer, claim string, value func(*brokerAnswer) (string, bool)) []string {
	groups := groupAnswers(answers, value)
	if len(groups) < 2 {
		return nil
	}
	ref := groups[0]
	var out []string
	for _, g := range groups[1:] {
		out = append(out, fmt.Sprintf("%s %s "+claim+", %s %s %s", brokersNamed(g.ids), saysOf(g.ids), g.value, brokersNamed(ref.ids), saysOf(ref.ids), ref.value))
	}
	return out
}

// valueGroup is the brokers that gave one value.
type valueGroup struct {
	value   string
	ids     []int32
	answers []*brokerAnswer
}

// groupAnswers groups answers by value, the largest group first (on a tie, the
// group of the lowest broker id).
func groupAnswers(answers []*brokerAnswer, value func(*brokerAnswer) (string, bool)) []*valueGroup {
	var groups []*valueGroup
	byValue := map[string]*valueGroup{}
	for _, a := range answers {
		v, ok := value(a)
		if !ok {
			continue
		}
		g := byValue[v]
		if g == nil {
			g = &valueGroup{value: v}
			byValue[v] = g
			groups = append(groups, g)
		}
		g.ids = append(g.ids, a.id)
		g.answers = append(g.answers, a)
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if len(groups[i].ids) != len(groups[j].ids) {
			return len(groups[i].ids) > len(groups[j].ids)
		}
		return slices.Min(groups[i].ids) < slices.Min(groups[j].ids)
	})
	return groups
}

// majority returns an answer of the largest group of answers by value.
func majority(answers []*brokerAnswer, value func(*brokerAnswer) string) *brokerAnswer {
	return groupAnswers(answers, func(a *brokerAnswer) (string, bool) { return value(a), true })[0].answers[0]
}

// consensus returns the topic's partitions as most brokers see them: for
// each partition the metadata of the largest group of brokers that gave the
// same leader, replicas, in-sync replicas and error.
func consensus(answers []*brokerAnswer) []*sarama.PartitionMetadata {
	ids := map[int32]bool{}
	for _, a := range answers {
		for id := range a.parts {
			ids[id] = true
		}
	}
	var out []*sarama.PartitionMetadata
	for _, p := range sortedIDSet(ids) {
		groups := groupAnswers(answers, func(a *brokerAnswer) (string, bool) {
			pm, ok := a.parts[p]
			if !ok {
				return "", false
			}
			return fmt.Sprintf("%d %s %s %s %d", pm.Leader, idSet(pm.Replicas), idSet(pm.Isr), idSet(pm.OfflineReplicas), pm.Err), true
		})
		out = append(out, groups[0].answers[0].parts[p])
	}
	return out
}

// checkPartitions checks the topic's partitions against the profile and
// records them in the report.
func checkPartitions(env *Env, step *Step, parts []*sarama.PartitionMetadata, brokers []report.Broker) {
	rf, want := env.Profile.Topic.ReplicationFactor, env.Profile.Topic.Partitions
	known := map[int32]bool{}
	for _, b := range brokers {
		known[b.ID] = true
	}
	if len(parts) != want {
		step.Failf("topic %s has %d partition(s), profile wants %d", env.Topic, len(parts), want)
	}
	leads := map[int32][]int32{} // broker -> partitions it leads
	for _, b := range brokers {
		leads[b.ID] = nil
	}
	for _, p := range parts {
		rp := env.partition(p.ID)
		rp.Leader, rp.Replicas, rp.ISR = p.Leader, p.Replicas, p.Isr
		switch {
		case p.Err != sarama.ErrNoError && p.Err != sarama.ErrReplicaNotAvailable:
			step.Failf("partition %d: metadata error %v", p.ID, p.Err)
		case p.Leader < 0:
			step.Failf("partition %d has no leader", p.ID)
		case !known[p.Leader]:
			step.Failf("partition %d is led by broker %d, which no broker advertises (brokers %v)", p.ID, p.Leader, brokerIDs(brokers))
		case !contains(p.Replicas, p.Leader):
			step.Failf("partition %d: leader broker %d is not one of its replicas %v", p.ID, p.Leader, p.Replicas)
		}
		if known[p.Leader] {
			leads[p.Leader] = append(leads[p.Leader], p.ID)
		}
		if len(p.Replicas) != rf || hasDuplicate(p.Replicas) {
			step.Failf("partition %d has replicas %v (%d), want %d distinct replicas (leader broker %d)", p.ID, p.Replicas, len(p.Replicas), rf, p.Leader)
		}
		if len(p.Isr) != rf {
			step.Failf("partition %d is under-replicated: in-sync replicas %v (%d of %d), replicas %v (leader broker %d)", p.ID, p.Isr, len(p.Isr), rf, p.Replicas, p.Leader)
		}
		for _, r := range p.Isr {
			if !contains(p.Replicas, r) {
				step.Failf("partition %d: in-sync replica %d is not one of its replicas %v", p.ID, r, p.Replicas)
			}
		}
		if len(p.OfflineReplicas) > 0 {
			step.Failf("partition %d has offline replicas %v", p.ID, p.OfflineReplicas)
		}
	}
	checkSpread(env, step, leads, len(parts))
}

// checkSpread records leaders per broker and fails when they are uneven: with
// P partitions over N brokers each broker must lead floor(P/N) or ceil(P/N).
func checkSpread(env *Env, step *Step, leads map[int32][]int32, partitions int) {
	ids := make([]int32, 0, len(leads))
	for id := range leads {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if len(ids) == 0 {
		return
	}
	lo, hi := partitions/len(ids), (partitions+len(ids)-1)/len(ids)
	minLed, maxLed := partitions, 0
	for _, id := range ids {
		n := len(leads[id])
		env.Report.Leaders[strconv.Itoa(int(id))] = n
		minLed, maxLed = min(minLed, n), max(maxLed, n)
	}
	step.Metric("leaders_max_minus_min", float64(maxLed-minLed))
	for _, id := range ids {
		n := len(leads[id])
		switch {
		case n > hi:
			step.Failf("leader skew: broker %d leads %d partitions %v, at most %d expected for %d partitions over %d brokers", id, n, leads[id], hi, partitions, len(ids))
		case n < lo:
			step.Failf("leader skew: broker %d leads %d partitions %v, at least %d expected for %d partitions over %d brokers", id, n, leads[id], lo, partitions, len(ids))
		}
	}
}

// brokerList renders brokers as "[0 127.0.0.1:9092, 1 127.0.0.1:9093]".
func brokerList(bs []report.Broker) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("%d %s", b.ID, b.Addr)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// idSet renders ids sorted, so that two lists of the same members compare equal.
func idSet(ids []int32) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	return fmt.Sprint(s)
}

// brokersNamed names brokers: "broker 2", "brokers 0, 1".
func brokersNamed(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	if len(ids) == 1 {
		return "broker " + s[0]
	}
	return "brokers " + strings.Join(s, ", ")
}

// saysOf is the verb for brokersNamed(ids).
func saysOf(ids []int32) string {
	if len(ids) == 1 {
		return "says"
	}
	return "say"
}

func sortedIDSet(set map[int32]bool) []int32 {
	out := make([]int32, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func brokerIDs(bs []report.Broker) []int32 {
	ids := make([]int32, 0, len(bs))
	for _, b := range bs {
		ids = append(ids, b.ID)
	}
	return ids
}

func contains(list []int32, x int32) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

func hasDuplicate(list []int32) bool {
	seen := map[int32]bool{}
	for _, v := range list {
		if seen[v] {
			return true
		}
		seen[v] = true
	}
	return false
}
