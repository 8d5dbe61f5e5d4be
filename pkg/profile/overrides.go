package profile

import "slices"

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
	FlagAllowNA           = "allow-not-applicable"
)

// Overrides are profile values given on the command line. A zero value
// (nil, "" or an empty list) means the flag was not given; the ints are
// pointers so that an explicit --partitions 0 is kept and reported by
// Validate rather than ignored.
type Overrides struct {
	Bootstrap          []string // --bootstrap: non-nil (given, even as "") switches cluster.mode to attach
	Nodes              *int     // --nodes: cluster.nodes, the brokers the cluster must have
	Acks               string   // --acks: 0, 1, all or -1
	Messages           *int     // --messages
	Partitions         *int     // --partitions
	ReplicationFactor  *int     // --replication-factor
	Topic              string   // --topic: topic.name
	FaultTarget        string   // --fault-target: faults.target
	FaultSeed          *int     // --fault-seed: faults.seed, to replay a run
	AllowNotApplicable bool     // --allow-not-applicable: allow_not_applicable
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
	p.normalize()
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
