package scenarios

// topic-create creates the run's topic and polls metadata until every
// partition has a leader. Transient errors (NOT_CONTROLLER while a Raft
// cluster settles, REQUEST_TIMED_OUT, ...) are retried until the deadline,
// each retry a note; see retry.go.
//
// Measures: the time the CreateTopics request took, and the time until
// metadata showed a leader for every partition.
// Cannot detect: a leader that metadata names but that cannot serve; produce
// and consume find that.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

func init() { Register(topicCreate{}) }

type topicCreate struct{}

var _ Sharded = topicCreate{}

// RunsSharded marks topic-create as one a shard may run: it creates the shared topic, or accepts the one a sibling created.
func (topicCreate) RunsSharded() {}

func (topicCreate) Name() string       { return "topic-create" }
func (topicCreate) Requires() []string { return nil }
func (topicCreate) Summary() string {
	return "create the topic, then poll metadata until every partition has a leader"
}

func (topicCreate) Run(ctx context.Context, env *Env, step *Step) error {
	if env.Profile.Topic.Existing {
		return useExistingTopic(ctx, env, step) // existing.go
	}
	t := env.Profile.Topic
	detail := &sarama.TopicDetail{NumPartitions: int32(t.Partitions), ReplicationFactor: int16(t.ReplicationFactor)}
	start := time.Now()
	err := createTopic(ctx, env, step, env.Topic, detail)
	created := time.Since(start)
	by := "created"
	switch {
	case errors.Is(err, sarama.ErrTopicAlreadyExists) && env.Shard != nil:
		// Another shard of the run group was first: once every partition
		// has a leader its topic must have the profile's shape; this shard
		// reads it from its start.
		by = fmt.Sprintf("created by another shard of run group %s", env.Report.Shard.Group)
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
		return fmt.Errorf("topic %s already exists: name a new topic with --topic or topic.name, leave it empty for a fresh name per run, or run against it with --existing-topic %s (topic.existing: true)", env.Topic, env.Topic)
	case err != nil:
		return err
	}
	step.Metric("create_s", created.Seconds())

	// Poll until every partition has a leader; never a fixed sleep.
	backoff := 10 * time.Millisecond
	var state leaderState
	for {
		state, err = within(ctx, func() (leaderState, error) { return leaderless(env, t.Partitions) })
		if err == nil && len(state.missing) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			what := fmt.Sprintf("metadata listed %d of %d partitions; partitions without a leader: %v", state.listed, t.Partitions, state.missing)
			if err != nil {
				what = err.Error()
			}
			return fmt.Errorf("waited %s for every partition of %s to have a leader: %s", time.Since(start).Round(time.Millisecond), env.Topic, what)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
	all := time.Since(start)
	if by != "created" {
		if err := checkTopicShape(ctx, env, "let a shard create it"); err != nil {
			return err
		}
	}
	step.Metric("all_leaders_s", all.Seconds())
	step.Notef("topic %s %s in %s; every partition had a leader after %s", env.Topic, by, created.Round(time.Millisecond), all.Round(time.Millisecond))
	env.TopicReady = true
	return nil
}

// leaderState is what one metadata poll saw of the topic's leaders.
type leaderState struct {
	missing []int32 // partitions without a leader
	listed  int     // partitions metadata listed
}

// leaderless asks fresh metadata which partitions of the topic have no leader.
func leaderless(env *Env, want int) (leaderState, error) {
	md, err := env.Admin.DescribeTopics([]string{env.Topic})
	if err != nil {
		return leaderState{}, err
	}
	if len(md) != 1 {
		return leaderState{}, fmt.Errorf("metadata answered for %d topics, want 1", len(md))
	}
	if md[0].Err != sarama.ErrNoError {
		return leaderState{}, fmt.Errorf("topic %s: %w", env.Topic, md[0].Err)
	}
	have := map[int32]bool{}
	for _, p := range md[0].Partitions {
		if p.Leader >= 0 && p.Err != sarama.ErrLeaderNotAvailable {
			have[p.ID] = true
		}
	}
	st := leaderState{listed: len(md[0].Partitions)}
	for p := int32(0); p < int32(want); p++ {
		if !have[p] {
			st.missing = append(st.missing, p)
		}
	}
	return st, nil
}
