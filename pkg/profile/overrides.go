package profile

import (
	"fmt"
	"slices"
	"time"
)

// Names of the CLI flags that Overrides stand for (register them under these
// names so that problems name the right flag).
const (
	FlagBootstrap         = "bootstrap"
	FlagNodes             = "nodes"
	FlagAcks              = "acks"
	FlagMessages          = "messages"
	FlagPartitions        = "partitions"
	FlagReplicationFactor = "replication-factor"
	FlagTopic             = "topic"
	FlagFaultTarget       = "fault-target"
	FlagFaultSeed         = "fault-seed"
	FlagRate              = "rate"
	FlagProducers         = "producers"
	FlagValueBytes        = "value-bytes"
	FlagKeys              = "keys"
	FlagReadyTimeout      = "ready-timeout"
	FlagScenarioTimeout   = "scenario-timeout"
	FlagThreshold         = "threshold"
	FlagSettle            = "settle"
	FlagConcurrentConsume = "concurrent-consume"
	FlagReplicaReads      = "replica-reads"
	FlagAllowNA           = "allow-not-applicable"
)

// Overrides are profile values given on the command line. A zero value
// (nil, "" or an empty list) means the flag was not given; the ints are
// pointers so that an explicit --partitions 0 is kept and reported by
// Validate rather than ignored.
type Overrides struct {
	Bootstrap         []string       // --bootstrap: non-nil (given, even as "") switches cluster.mode to attach
	Nodes             *int           // --nodes: cluster.nodes, the brokers the cluster must have
	Acks              string         // --acks: 0, 1, all or -1
	Messages          *int           // --messages
	Partitions        *int           // --partitions
	ReplicationFactor *int           // --replication-factor
	Topic             string         // --topic: topic.name
	FaultTarget       string         // --fault-target: faults.target
	FaultSeed         *int           // --fault-seed: faults.seed, to replay a run
	Rate              *int           // --rate: workload.rate
	Producers         *int           // --producers: workload.producers
	ValueBytes        *int           // --value-bytes: workload.value_bytes
	Keys              *int           // --keys: workload.keys
	ReadyTimeout      *time.Duration // --ready-timeout: timeouts.cluster_ready
	ScenarioTimeout   *time.Duration // --scenario-timeout: timeouts.scenario
	Settle            *time.Duration // --settle: timeouts.settle
	ConcurrentConsume *bool          // --concurrent-consume: workload.concurrent_consume
	ReplicaReads      *bool          // --replica-reads: workload.replica_reads
	Thresholds        []string       // --threshold: added to the profile's thresholds
	TopicDelete       string         // --topic-delete: topic.delete
	ExistingTopic     string         // --existing-topic: topic.name, with topic.existing
	// AllowNotApplicable is --allow-not-applicable: allow_not_applicable.
	AllowNotApplicable bool
	// Security holds --tls, --tls-ca, --sasl-* and -X (security.go).
	Security SecurityOverrides
}

// Apply sets the values o gives. Validate then names the flag, not a
// line, in a problem with one of them.
func (p *Profile) Apply(o Overrides) {
	if o.Bootstrap != nil { // given, even empty: Validate reports an empty list
		p.Cluster.Mode = ModeAttach
		p.Cluster.Bootstrap = slices.Clone(o.Bootstrap)
		p.setBy(FlagBootstrap, "cluster.mode", "cluster.bootstrap")
	}
	if o.Nodes != nil {
		p.Cluster.Nodes = *o.Nodes
		p.setBy(FlagNodes, "cluster.nodes")
	}
	if o.Acks != "" {
		p.Workload.Acks = o.Acks
		p.setBy(FlagAcks, "workload.acks")
	}
	if o.Messages != nil {
		p.Workload.Messages = *o.Messages
		p.setBy(FlagMessages, "workload.messages")
	}
	if o.Partitions != nil {
		p.Topic.Partitions = *o.Partitions
		p.setBy(FlagPartitions, "topic.partitions")
	}
	if o.ReplicationFactor != nil {
		p.Topic.ReplicationFactor = *o.ReplicationFactor
		p.setBy(FlagReplicationFactor, "topic.replication_factor")
	}
	if o.Topic != "" {
		p.Topic.Name = o.Topic
		p.setBy(FlagTopic, "topic.name")
	}
	for _, w := range []struct {
		v    *int
		dst  *int
		flag string
		key  string
	}{
		{o.Rate, &p.Workload.Rate, FlagRate, "workload.rate"},
		{o.Producers, &p.Workload.Producers, FlagProducers, "workload.producers"},
		{o.ValueBytes, &p.Workload.ValueBytes, FlagValueBytes, "workload.value_bytes"},
		{o.Keys, &p.Workload.Keys, FlagKeys, "workload.keys"},
	} {
		if w.v != nil {
			*w.dst = *w.v
			p.setBy(w.flag, w.key)
		}
	}
	if o.ReadyTimeout != nil {
		p.Timeouts.ClusterReady.Duration = *o.ReadyTimeout
		p.setBy(FlagReadyTimeout, "timeouts.cluster_ready")
	}
	if o.ScenarioTimeout != nil {
		p.Timeouts.Scenario.Duration = *o.ScenarioTimeout
		p.setBy(FlagScenarioTimeout, "timeouts.scenario")
	}
	if o.Settle != nil {
		p.Timeouts.Settle.Duration = *o.Settle
		p.setBy(FlagSettle, "timeouts.settle")
	}
	if o.ReplicaReads != nil {
		p.Workload.ReplicaReads = *o.ReplicaReads
		p.setBy(FlagReplicaReads, "workload.replica_reads")
	}
	if o.ConcurrentConsume != nil {
		p.Workload.ConcurrentConsume = *o.ConcurrentConsume
		p.setBy(FlagConcurrentConsume, "workload.concurrent_consume")
	}
	for _, th := range o.Thresholds {
		p.setBy(FlagThreshold, fmt.Sprintf("thresholds[%d]", len(p.Thresholds)))
		p.Thresholds = append(p.Thresholds, th)
	}
	if o.TopicDelete != "" {
		p.Topic.Delete = o.TopicDelete
		p.setBy(FlagTopicDelete, "topic.delete")
	}
	if o.ExistingTopic != "" {
		p.Topic.Name, p.Topic.Existing = o.ExistingTopic, true
		p.setBy(FlagExistingTopic, "topic.name", "topic.existing")
	}
	if o.FaultTarget != "" {
		p.Faults.Target = o.FaultTarget
		p.setBy(FlagFaultTarget, "faults.target")
	}
	if o.FaultSeed != nil {
		p.Faults.Seed = *o.FaultSeed
		p.setBy(FlagFaultSeed, "faults.seed")
	}
	if o.AllowNotApplicable {
		p.AllowNotApplicable = true
		p.setBy(FlagAllowNA, "allow_not_applicable")
	}
	p.applySecurity(o.Security)
	p.normalize()
}

// setByShort records that the one-letter flag (-X) set the values of keys.
func (p *Profile) setByShort(flag string, keys ...string) {
	if p.flags == nil {
		p.flags = map[string]string{}
	}
	for _, k := range keys {
		p.flags[k] = "-" + flag
	}
}

// setBy records that flag set the values of keys.
func (p *Profile) setBy(flag string, keys ...string) {
	if p.flags == nil {
		p.flags = map[string]string{}
	}
	for _, k := range keys {
		p.flags[k] = "--" + flag
	}
}
