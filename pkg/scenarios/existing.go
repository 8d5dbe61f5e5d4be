package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// useExistingTopic is topic-create for topic.existing: instead of creating
// the topic it checks that the topic exists with the profile's partitions
// and replication factor, waits for every partition's leader, and records the
// partitions' end offsets, from which the run reads: records already in the
// topic are not this run's.
//
// Cannot detect: records another client writes into the topic during the run
// are read as unexpected.
func useExistingTopic(ctx context.Context, env *Env, step *Step) error {
	t := env.Profile.Topic
	if err := checkTopicShape(ctx, env, "drop --existing-topic for a fresh topic"); err != nil {
		return err
	}
	start := time.Now()
	backoff := 10 * time.Millisecond
	for {
		state, err := within(ctx, func() (leaderState, error) { return leaderless(env, t.Partitions) })
		if err == nil && len(state.missing) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waited %s for every partition of %s to have a leader: %v (partitions without one: %v)", time.Since(start).Round(time.Millisecond), env.Topic, err, state.missing)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
	ids, err := within(ctx, func() ([]int32, error) { return partitionIDs(env.Client, env.Topic) })
	if err != nil {
		return err
	}
	ends, err := offsetsOf(ctx, env.Client, env.Topic, ids, sarama.OffsetNewest)
	if err != nil {
		return err
	}
	env.readFrom = make(map[int32]int64, len(ids))
	var held int64
	for i, id := range ids {
		env.readFrom[id] = ends[i]
		held += ends[i]
	}
	step.Metric("all_leaders_s", time.Since(start).Seconds())
	step.Notef("topic %s exists with %d partitions, replication factor %d; the run reads from its end offsets (%d earlier record(s) are left alone)", env.Topic, t.Partitions, t.ReplicationFactor, held)
	env.TopicReady = true
	return nil
}

// checkTopicShape checks that the run's topic exists with the profile's
// partitions and replication factor; orElse says what else to do when it
// does not exist.
func checkTopicShape(ctx context.Context, env *Env, orElse string) error {
	t := env.Profile.Topic
	md, err := within(ctx, func() ([]*sarama.TopicMetadata, error) { return env.Admin.DescribeTopics([]string{env.Topic}) })
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", env.Topic, err)
	}
	if len(md) != 1 || md[0].Err == sarama.ErrUnknownTopicOrPartition {
		return fmt.Errorf("topic %s does not exist (topic.existing): create it with %d partitions and replication factor %d, or %s", env.Topic, t.Partitions, t.ReplicationFactor, orElse)
	}
	if md[0].Err != sarama.ErrNoError {
		return fmt.Errorf("topic %s: %w", env.Topic, md[0].Err)
	}
	if n := len(md[0].Partitions); n != t.Partitions {
		return fmt.Errorf("topic %s has %d partitions, the profile says %d: give --partitions %d (or topic.partitions)", env.Topic, n, t.Partitions, n)
	}
	for _, p := range md[0].Partitions {
		if rf := len(p.Replicas); rf != t.ReplicationFactor {
			return fmt.Errorf("topic %s partition %d has %d replicas, the profile says replication factor %d: give --replication-factor %d (or topic.replication_factor)", env.Topic, p.ID, rf, t.ReplicationFactor, rf)
		}
	}
	return nil
}

// noteTopic records a topic a scenario created besides the run's topic (the
// fault scenarios' own), for the runner to delete with it.
func (e *Env) noteTopic(name string) {
	e.topicsMu.Lock()
	defer e.topicsMu.Unlock()
	e.extraTopics = append(e.extraTopics, name)
}

// noteGroup records a consumer group a scenario made, for the runner to
// delete with the topics.
func (e *Env) noteGroup(name string) {
	e.topicsMu.Lock()
	defer e.topicsMu.Unlock()
	e.groups = append(e.groups, name)
}

// Groups returns the consumer groups scenarios made.
func (e *Env) Groups() []string {
	e.topicsMu.Lock()
	defer e.topicsMu.Unlock()
	return append([]string(nil), e.groups...)
}

// ExtraTopics returns the topics scenarios created besides the run's topic.
func (e *Env) ExtraTopics() []string {
	e.topicsMu.Lock()
	defer e.topicsMu.Unlock()
	return append([]string(nil), e.extraTopics...)
}

// offsetsFrom is offsetsOf, except that the log start of the run's topic,
// when it existed before the run, is where the run began reading: its end
// offsets at the start (topic.existing).
func (e *Env) offsetsFrom(ctx context.Context, client sarama.Client, topic string, ids []int32, at int64) ([]int64, error) {
	if at != sarama.OffsetOldest || topic != e.Topic || e.readFrom == nil {
		return offsetsOf(ctx, client, topic, ids, at)
	}
	from := make([]int64, len(ids))
	for i, p := range ids {
		from[i] = e.readFrom[p]
	}
	return from, nil
}
