package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// deleteTimeout bounds the DeleteTopics request at the end of a run.
const deleteTimeout = 30 * time.Second

// cleanUpTopic deletes the run's topic as topic.delete says (on-pass,
// always, never) and records what it did in the report. A topic that existed
// before the run is never deleted; one that could not be deleted is a note,
// not a failed run.
func cleanUpTopic(ctx context.Context, env *scenarios.Env, p *profile.Profile, rep *report.Report, created bool) {
	policy := p.TopicDelete()
	keep := func(why string) { rep.TopicCleanup = fmt.Sprintf("topic %s kept: %s", env.Topic, why) }
	switch {
	case !created:
		return // no scenario made the topic
	case p.Topic.Existing:
		keep("it existed before the run (topic.existing)")
		return
	case policy == profile.DeleteNever && p.Topic.Delete == "":
		return // embedded: the topic goes away with the cluster
	case policy == profile.DeleteNever:
		keep("topic.delete is never")
		return
	case policy == profile.DeleteOnPass && !rep.Passed:
		keep("the run failed, so it is left for inspection (topic.delete: on-pass)")
		return
	case ctx.Err() != nil:
		keep("the run was interrupted")
		return
	}
	dctx, cancel := context.WithTimeout(ctx, deleteTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- env.Admin.DeleteTopic(env.Topic) }()
	var err error
	select {
	case err = <-done:
	case <-dctx.Done():
		err = fmt.Errorf("no answer within %s", deleteTimeout)
	}
	switch {
	case err == nil, errors.Is(err, sarama.ErrUnknownTopicOrPartition):
		rep.TopicCleanup = fmt.Sprintf("topic %s deleted (topic.delete: %s)", env.Topic, policy)
	default:
		rep.TopicCleanup = fmt.Sprintf("topic %s could not be deleted (topic.delete: %s): %v; remove it with chronik-e2e topics clean", env.Topic, policy, err)
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
