package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// deleteTimeout bounds the DeleteTopics request at the end of a run.
const deleteTimeout = 30 * time.Second

// cleanUpTopic deletes the run's topic, and the topics the fault scenarios
// made beside it, as topic.delete says (on-pass, always, never), and records
// what it did in the report. A topic that existed before the run is never
// deleted; one that could not be deleted is a note, not a failed run.
func cleanUpTopic(ctx context.Context, env *scenarios.Env, p *profile.Profile, rep *report.Report, created bool) {
	var topics []string
	if created && !p.Topic.Existing {
		topics = append(topics, env.Topic)
	}
	topics = append(topics, env.ExtraTopics()...)
	policy := p.TopicDelete()
	keep := func(why string) {
		rep.TopicCleanup = fmt.Sprintf("%s kept: %s", topicList(topics), why)
	}
	switch {
	case rep.Shard != nil:
		// The other shards may still be reading it; none of them can know
		// when the last one is done.
		rep.TopicCleanup = fmt.Sprintf("topic %s kept: the shards of run group %s share it; delete it once every shard has finished (chronik-e2e topics clean)", env.Topic, rep.Shard.Group)
		return
	case p.Topic.Existing && len(topics) == 0:
		rep.TopicCleanup = fmt.Sprintf("topic %s kept: it existed before the run (topic.existing)", env.Topic)
		return
	case len(topics) == 0:
		return // no scenario made a topic
	case policy == profile.DeleteNever && p.Topic.Delete == "":
		return // embedded: the topics go away with the cluster
	case policy == profile.DeleteNever:
		keep("topic.delete is never")
		return
	case policy == profile.DeleteOnPass && !rep.Passed:
		keep("the run failed, left for inspection (topic.delete: on-pass)")
		return
	case ctx.Err() != nil:
		keep("the run was interrupted")
		return
	}
	failed := deleteTopics(ctx, env.Panics, env.Admin, topics)
	rep.TopicCleanup = fmt.Sprintf("%s deleted (topic.delete: %s)", topicList(topics), policy)
	if groups := env.Groups(); len(groups) > 0 {
		for _, g := range groups {
			if err := deleteGroup(ctx, env.Admin, g); err != nil {
				failed = append(failed, fmt.Sprintf("consumer group %s: %v", g, err))
			}
		}
		rep.TopicCleanup += fmt.Sprintf(", with consumer group(s) %s", strings.Join(groups, ", "))
	}
	if p.Topic.Existing {
		rep.TopicCleanup += fmt.Sprintf("; topic %s kept: it existed before the run (topic.existing)", env.Topic)
	}
	if len(failed) > 0 {
		rep.TopicCleanup = fmt.Sprintf("could not delete %s (topic.delete: %s); remove them with chronik-e2e topics clean", strings.Join(failed, "; "), policy)
	}
}

// topicList names topics for the report: "topic a", "topics a, b"; a
// topic storm's thousands are named by their first and last.
func topicList(topics []string) string {
	switch {
	case len(topics) == 1:
		return "topic " + topics[0]
	case len(topics) > maxListed:
		return fmt.Sprintf("%d topics (%s … %s)", len(topics), strings.Join(topics[:maxListed-1], ", "), topics[len(topics)-1])
	}
	return "topics " + strings.Join(topics, ", ")
}

// maxListed bounds the topics the report names one by one, and
// deleteParallelism the DeleteTopics in flight at the end of a run.
const (
	maxListed          = 6
	deleteParallelism  = 16
	maxFailedDeletions = 10
)

// deleteTopics deletes topics, deleteParallelism at a time, and returns
// "topic: error" for the first maxFailedDeletions that could not be
// deleted, and a count of the rest.
func deleteTopics(ctx context.Context, rec *safe.Recorder, admin sarama.ClusterAdmin, topics []string) []string {
	errs := make([]error, len(topics))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range min(deleteParallelism, len(topics)) {
		wg.Add(1)
		rec.Go(fmt.Sprintf("topic deleter %d", w), func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(topics); i = int(next.Add(1) - 1) {
				errs[i] = deleteTopic(ctx, admin, topics[i])
			}
		})
	}
	wg.Wait()
	var failed []string
	n := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		if n++; n <= maxFailedDeletions {
			failed = append(failed, fmt.Sprintf("%s: %v", topics[i], err))
		}
	}
	if n > maxFailedDeletions {
		failed = append(failed, fmt.Sprintf("%d more", n-maxFailedDeletions))
	}
	return failed
}

// deleteTopic deletes topic within deleteTimeout; a topic already gone is deleted.
func deleteTopic(ctx context.Context, admin sarama.ClusterAdmin, topic string) error {
	dctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- admin.DeleteTopic(topic) }()
	select {
	case err := <-done:
		if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			return nil
		}
		return err
	case <-dctx.Done():
		return fmt.Errorf("no answer within %s", deleteTimeout)
	}
}

// ranTopicCreate reports whether topic-create ran (and so may have made the topic).
func ranTopicCreate(rep *report.Report) bool {
	for _, s := range rep.Scenarios {
		if s.Name == "topic-create" && !s.Skipped {
			return true
		}
	}
	return false
}

// deleteGroup deletes a consumer group within deleteTimeout; one already gone is deleted.
func deleteGroup(ctx context.Context, admin sarama.ClusterAdmin, group string) error {
	dctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- admin.DeleteConsumerGroup(group) }()
	select {
	case err := <-done:
		if errors.Is(err, sarama.ErrGroupIDNotFound) {
			return nil
		}
		return err
	case <-dctx.Done():
		return fmt.Errorf("no answer within %s", deleteTimeout)
	}
}
