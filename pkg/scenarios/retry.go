package scenarios

// Cluster operations (creating a topic, asking a broker for metadata) meet
// transient errors while a cluster settles: a Raft cluster that has just
// elected its controller answers NOT_CONTROLLER for a second, a new partition
// LEADER_NOT_AVAILABLE. Such errors are retried with backoff until the
// scenario's deadline, each retry a note, so that a settling cluster is not
// failed for settling and a persistently failing one is named with its last
// error and the number of attempts. Produce never goes through here: a
// produce error is counted, not retried away.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Backoff between attempts of a retried cluster operation, and how many
// retries of one operation are noted one by one.
const (
	retryFirstBackoff = 50 * time.Millisecond
	retryMaxBackoff   = time.Second
	maxRetryNotes     = 10
)

// transientErrors are the Kafka errors a cluster operation is retried on.
var transientErrors = []error{
	sarama.ErrNotController,
	sarama.ErrLeaderNotAvailable,
	sarama.ErrConsumerCoordinatorNotAvailable,
	sarama.ErrNetworkException,
}

// retryable marks an error the operation itself judged worth retrying
// (REQUEST_TIMED_OUT of a CreateTopics whose topic does not exist).
type retryable struct{ err error }

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }

// transient reports whether err is worth another attempt: one of
// transientErrors, a connection the broker closed or refused (the client's
// side of NETWORK_EXCEPTION), or an error marked retryable.
func transient(err error) bool {
	var r *retryable
	if errors.As(err, &r) {
		return true
	}
	for _, t := range transientErrors {
		if errors.Is(err, t) {
			return true
		}
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, sarama.ErrNotConnected)
}

// retryTransient runs the blocking call fn until it succeeds, fails with an
// error that is not transient, or ctx ends; between attempts it waits with
// exponential backoff and notes each retry on step. Every error it returns
// starts with what; at the deadline it names the number of attempts and the
// last error.
func retryTransient(ctx context.Context, step *Step, what string, fn func() error) error {
	start := time.Now()
	backoff := retryFirstBackoff
	var last error // the last transient error
	for attempt := 1; ; attempt++ {
		_, err := within(ctx, func() (struct{}, error) { return struct{}{}, fn() })
		switch {
		case err == nil:
			if attempt > 1 {
				step.Notef("%s: succeeded at attempt %d after %s", what, attempt, time.Since(start).Round(time.Millisecond))
			}
			return nil
		case ctx.Err() != nil && last != nil:
			return gaveUp(ctx, what, attempt, start, last)
		case !transient(err):
			return fmt.Errorf("%s: %w", what, err)
		}
		last = err
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < backoff {
			return gaveUp(ctx, what, attempt, start, last)
		}
		if attempt <= maxRetryNotes {
			step.Notef("%s: attempt %d answered %s; retrying in %s", what, attempt, kafkaName(err), backoff)
		} else if attempt == maxRetryNotes+1 {
			step.Notef("%s: further retries are not listed", what)
		}
		select {
		case <-ctx.Done():
			return gaveUp(ctx, what, attempt, start, last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, retryMaxBackoff)
	}
}

// gaveUp is the error of a retried operation that did not succeed before ctx ended.
func gaveUp(ctx context.Context, what string, attempts int, start time.Time, last error) error {
	why := stopped(ctx)
	if ctx.Err() == nil {
		why = "the scenario deadline leaves no time for another attempt"
	}
	return fmt.Errorf("%s: %d attempt(s) in %s, the last answered %s; %s: %w",
		what, attempts, time.Since(start).Round(time.Millisecond), kafkaName(last), why, last)
}

// kafkaName names err the way Kafka does (NOT_CONTROLLER) when it carries a
// Kafka error code, else returns its text.
func kafkaName(err error) string {
	var ke sarama.KError
	if errors.As(err, &ke) {
		if e, ok := kerr.ErrorForCode(int16(ke)).(*kerr.Error); ok {
			return e.Message
		}
		return fmt.Sprintf("kafka error %d", int16(ke))
	}
	return err.Error()
}

// createTopic creates topic with detail through the shared admin client,
// retrying transient errors (see retryTransient). A CreateTopics answered
// REQUEST_TIMED_OUT, or lost with its connection, may still have created the topic:
// then the topic's metadata decides. If it exists with the right partitions
// and replication factor it is taken, with a note; if it does not exist the
// request is sent again. TOPIC_ALREADY_EXISTS on the first attempt is
// returned as it is: the topic was there before this run.
func createTopic(ctx context.Context, env *Env, step *Step, topic string, detail *sarama.TopicDetail) error {
	return createTopicWith(ctx, env.Admin, step, topic, detail)
}

// createTopicWith is createTopic through admin: the topic storm gives each
// of its workers an admin client of its own, so that its CreateTopics are
// in flight at once rather than queued on one connection.
func createTopicWith(ctx context.Context, admin sarama.ClusterAdmin, step *Step, topic string, detail *sarama.TopicDetail) error {
	what := fmt.Sprintf("create topic %s (%d partitions, replication factor %d)", topic, detail.NumPartitions, detail.ReplicationFactor)
	maybeCreated := false // an earlier attempt may have created the topic
	return retryTransient(ctx, step, what, func() error {
		err := admin.CreateTopic(topic, detail, false)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, sarama.ErrTopicAlreadyExists) && !maybeCreated:
			return err
		case errors.Is(err, sarama.ErrTopicAlreadyExists), errors.Is(err, sarama.ErrRequestTimedOut):
			exists, shapeErr := topicShape(admin, topic, detail)
			switch {
			case shapeErr != nil:
				return shapeErr
			case exists:
				step.Notef("%s: answered %s, but the topic exists with the right shape; carrying on", what, kafkaName(err))
				return nil
			}
			maybeCreated = true
			return &retryable{err}
		case transient(err):
			maybeCreated = maybeCreated || !refused(err)
			return err
		}
		return err
	})
}

// refused reports whether err is an answer that says the request was not
// carried out (as opposed to a timeout or a lost connection, after which it
// may have been).
func refused(err error) bool {
	return errors.Is(err, sarama.ErrNotController) || errors.Is(err, sarama.ErrLeaderNotAvailable) ||
		errors.Is(err, sarama.ErrConsumerCoordinatorNotAvailable)
}

// topicShape reports whether topic exists; it is an error when it exists
// with other partitions or replication factor than detail.
func topicShape(admin sarama.ClusterAdmin, topic string, detail *sarama.TopicDetail) (bool, error) {
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		return false, fmt.Errorf("check whether topic %s exists: %w", topic, err)
	}
	if len(md) != 1 || errors.Is(md[0].Err, sarama.ErrUnknownTopicOrPartition) {
		return false, nil
	}
	if md[0].Err != sarama.ErrNoError {
		return false, fmt.Errorf("check whether topic %s exists: %w", topic, md[0].Err)
	}
	if len(md[0].Partitions) != int(detail.NumPartitions) {
		return true, fmt.Errorf("topic %s exists with %d partitions, want %d", topic, len(md[0].Partitions), detail.NumPartitions)
	}
	for _, p := range md[0].Partitions {
		if len(p.Replicas) != int(detail.ReplicationFactor) {
			return true, fmt.Errorf("topic %s exists, but partition %d has %d replicas %v, want replication factor %d", topic, p.ID, len(p.Replicas), p.Replicas, detail.ReplicationFactor)
		}
	}
	return true, nil
}
