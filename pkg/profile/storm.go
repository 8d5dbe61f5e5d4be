package profile

import (
	"slices"
	"time"
)

// Storm says how the topic-storm scenario loads the cluster's catalog: how
// many topics it creates, how many CreateTopics it keeps in flight, what it
// writes to each, whether it restarts the cluster, and how long every broker
// may take to list them all.
type Storm struct {
	// Topics is how many topics the storm creates, each with
	// topic.partitions partitions of topic.replication_factor replicas.
	Topics int `yaml:"topics"`
	// Parallelism is how many CreateTopics requests are in flight at once.
	Parallelism int `yaml:"parallelism"`
	// MessagesPerTopic is how many messages are written to each topic
	// (acks=all) and counted back through its end offsets; 0 writes none.
	MessagesPerTopic int `yaml:"messages_per_topic"`
	// Restart stops every node, starts them all again and checks every
	// broker lists the same topics again (it needs node control).
	Restart bool `yaml:"restart"`
	// ConvergeTimeout is how long every broker may take to list exactly the
	// created topics, each partition led, after the creations and again
	// after the restart.
	ConvergeTimeout Duration `yaml:"converge_timeout"`
}

// Limits of the storm section.
const (
	MaxStormTopics           = 100000
	MaxStormParallelism      = 256
	MaxStormMessagesPerTopic = 100000
)

// DefaultStorm returns the storm section a profile gets when it has none.
func DefaultStorm() Storm {
	return Storm{Topics: 100, Parallelism: 16, MessagesPerTopic: 4, ConvergeTimeout: Duration{time.Minute}}
}

// validateStorm checks the storm section.
func (p *Profile) validateStorm(v *validator) {
	s := p.Storm
	if s.Topics < 1 || s.Topics > MaxStormTopics {
		v.add("storm.topics", "must be 1..%d, not %d", MaxStormTopics, s.Topics)
	}
	if s.Parallelism < 1 || s.Parallelism > MaxStormParallelism {
		v.add("storm.parallelism", "must be 1..%d CreateTopics in flight, not %d", MaxStormParallelism, s.Parallelism)
	}
	if s.MessagesPerTopic < 0 || s.MessagesPerTopic > MaxStormMessagesPerTopic {
		v.add("storm.messages_per_topic", "must be 0..%d, not %d", MaxStormMessagesPerTopic, s.MessagesPerTopic)
	}
	waits, why := s.ConvergeTimeout.Duration, ""
	if s.Restart {
		waits, why = 2*waits, " (twice: before and after the restart)"
	}
	switch {
	case s.ConvergeTimeout.Duration <= 0:
		v.add("storm.converge_timeout", "must be more than 0, not %s", s.ConvergeTimeout)
	case slices.Contains(p.Scenarios, "topic-storm") && p.Timeouts.Scenario.Duration > 0 && waits >= p.Timeouts.Scenario.Duration:
		v.add("storm.converge_timeout", "the storm may wait %s for the brokers%s, which leaves no time of timeouts.scenario (%s) to create and write: raise timeouts.scenario", Duration{waits}, why, p.Timeouts.Scenario)
	}
}
