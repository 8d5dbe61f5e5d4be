package scenarios

// metadata checks the cluster's shape against the profile: exactly `nodes`
// brokers; the topic's partition count; every partition with a leader, RF
// replicas and RF in-sync replicas; and leaders spread evenly, no broker
// leading more than ceil(partitions/nodes) or fewer than floor(partitions/nodes).
//
// This is the check the old script lacked: a partition whose Raft group
// bootstrapped as a single node shows one replica or one in-sync replica.
// Cannot detect: a broker that reports a replica in sync when it is not;
// produce with acks=all and consume test that.

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

func init() { Register(metadata{}) }

type metadata struct{}

var _ Scenario = metadata{}

func (metadata) Name() string       { return "metadata" }
func (metadata) Requires() []string { return []string{"topic-create"} }
func (metadata) Summary() string {
	return "check brokers, partitions, leaders, replicas, in-sync replicas and leader spread against the profile"
}

// clusterView is one metadata answer: the brokers and the topic's partitions.
type clusterView struct {
	brokers    []*sarama.Broker
	partitions []*sarama.PartitionMetadata
}

func (metadata) Run(ctx context.Context, env *Env, step *Step) error {
	// The broker count is checked even without a topic: a cluster missing
	// brokers is often why topic creation failed.
	view, err := within(ctx, func() (clusterView, error) {
		brokers, _, err := env.Admin.DescribeCluster()
		if err != nil {
			return clusterView{}, fmt.Errorf("describe cluster: %w", err)
		}
		if !env.TopicReady {
			return clusterView{brokers: brokers}, nil
		}
		md, err := env.Admin.DescribeTopics([]string{env.Topic})
		if err != nil {
			return clusterView{}, fmt.Errorf("describe topic %s: %w", env.Topic, err)
		}
		if len(md) != 1 || md[0].Err != sarama.ErrNoError {
			return clusterView{}, fmt.Errorf("describe topic %s: %v", env.Topic, topicErr(md))
		}
		return clusterView{brokers: brokers, partitions: md[0].Partitions}, nil
	})
	if err != nil {
		return err
	}
	prof := env.Profile
	nodes, rf, want := prof.Cluster.Nodes, prof.Topic.ReplicationFactor, prof.Topic.Partitions

	brokers := cluster.Brokers(view.brokers)
	env.Report.Cluster.Brokers = brokers
	known := map[int32]bool{}
	for _, b := range brokers {
		known[b.ID] = true
	}
	step.Metric("brokers", float64(len(brokers)))
	if len(brokers) != nodes {
		step.Failf("cluster has %d broker(s) %v, profile wants cluster.nodes = %d", len(brokers), brokerIDs(brokers), nodes)
	}
	if !env.TopicReady {
		step.Failf("topic %s was not created, so its partitions were not checked", env.Topic)
		return nil
	}

	sort.Slice(view.partitions, func(i, j int) bool { return view.partitions[i].ID < view.partitions[j].ID })
	if len(view.partitions) != want {
		step.Failf("topic %s has %d partition(s), profile wants %d", env.Topic, len(view.partitions), want)
	}
	leads := map[int32][]int32{} // broker -> partitions it leads
	for _, b := range brokers {
		leads[b.ID] = nil
	}
	for _, p := range view.partitions {
		rp := env.partition(p.ID)
		rp.Leader, rp.Replicas, rp.ISR = p.Leader, p.Replicas, p.Isr
		switch {
		case p.Err != sarama.ErrNoError && p.Err != sarama.ErrReplicaNotAvailable:
			step.Failf("partition %d: metadata error %v", p.ID, p.Err)
		case p.Leader < 0:
			step.Failf("partition %d has no leader", p.ID)
		case !known[p.Leader]:
			step.Failf("partition %d: leader broker %d is not among the cluster's brokers %v", p.ID, p.Leader, brokerIDs(brokers))
		case !contains(p.Replicas, p.Leader):
			step.Failf("partition %d: leader broker %d is not one of its replicas %v", p.ID, p.Leader, p.Replicas)
		}
		if p.Leader >= 0 {
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
	checkSpread(env, step, leads, len(view.partitions))
	return nil
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

func topicErr(md []*sarama.TopicMetadata) string {
	if len(md) != 1 {
		return fmt.Sprintf("metadata answered for %d topics, want 1", len(md))
	}
	return md[0].Err.Error()
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
