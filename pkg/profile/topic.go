package profile

import (
	"regexp"
	"slices"
)

// Values of topic.delete.
const (
	DeleteOnPass = "on-pass"
	DeleteAlways = "always"
	DeleteNever  = "never"
)

// Flags of the topic overrides.
const (
	FlagTopicDelete   = "topic-delete"
	FlagExistingTopic = "existing-topic"
)

// GeneratedTopic matches the topic names the runner generates for a run,
// "e2e-<profile>-<8 hex digits of the run id>", and those of the fault
// scenarios' own topics beside it ("…-failover", "…-acks-all"): the only
// names `topics clean` removes.
var GeneratedTopic = regexp.MustCompile(`^e2e-[a-zA-Z0-9._-]+-[0-9a-f]{8}(-[a-z0-9-]+)?$`)

// TopicDelete returns when the run's topic is deleted: on-pass, always or
// never, with topic.delete's default for the cluster mode filled in. An
// existing topic is never deleted.
func (p *Profile) TopicDelete() string {
	switch {
	case p.Topic.Existing:
		return DeleteNever
	case p.Topic.Delete != "":
		return p.Topic.Delete
	case p.Cluster.Mode == ModeEmbedded:
		return DeleteNever // the cluster and its topics go away with the run
	}
	return DeleteOnPass
}

// validateTopic checks topic.delete and topic.existing.
func (p *Profile) validateTopic(v *validator) {
	t := p.Topic
	if t.Delete != "" && !slices.Contains([]string{DeleteOnPass, DeleteAlways, DeleteNever}, t.Delete) {
		v.add("topic.delete", "%q is not on-pass, always or never", t.Delete)
	}
	if !t.Existing {
		return
	}
	if t.Name == "" {
		v.add("topic.existing", "needs topic.name (or --existing-topic NAME): the topic to run against")
	}
	if t.Delete == DeleteOnPass || t.Delete == DeleteAlways {
		v.add("topic.delete", "%s with topic.existing: a topic that existed before the run is never deleted", t.Delete)
	}
}
