package verify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/eapache/go-resiliency/breaker"
	"github.com/twmb/franz-go/pkg/kerr"
)

// OffsetMinusOne names Chronik's failed replicated write: an answer with
// error code 0 and offset -1.
const OffsetMinusOne = "broker acknowledged with offset -1 (error code 0): not an acknowledgement, the write was not committed"

// BreakerOpen names sarama's producer's circuit breaker error: after three
// failed leader lookups in a row, sarama fails a partition's messages
// without asking the cluster, for 10 seconds.
const BreakerOpen = "no leader: sarama's circuit breaker is open (the partition's leader lookups kept failing; its messages failed without reaching the cluster)"

// Answers records what one producer is told, answer by answer in the order
// they arrive, in a ledger. It is the one produce-answer classification:
// an answer with an error is a failure named as Kafka names it; an answer
// with no error and an offset below 0 is a failure, and so is the rest of
// that batch (sarama numbers a batch's later messages from the base offset
// -1, so they arrive as offsets 0, 1, ... on the same partition: the run of
// numbers that follows -1); with acks=0 nothing is acknowledged. Not safe
// for concurrent use: one Answers per producer.
type Answers struct {
	ledger *Ledger
	acks   string
	badRun map[int32]int64 // partition -> next offset of a batch that began at -1
}

// NewAnswers returns the answer recorder of a producer sending with acks
// ("0", "1" or "all") into l.
func NewAnswers(l *Ledger, acks string) *Answers {
	return &Answers{ledger: l, acks: acks, badRun: map[int32]int64{}}
}

// Success records an answer without an error for seq: stored at partition
// and offset. It returns whether seq counts as acknowledged (with acks=0 it
// never does) and, when it is a failure, its reason.
func (a *Answers) Success(seq int, partition int32, offset int64) (acked bool, reason string) {
	switch {
	case a.acks == "0":
		a.ledger.SentNoAck(seq, partition)
		return false, ""
	case offset < 0:
		a.badRun[partition] = 0
		a.ledger.Fail(seq, partition)
		return false, OffsetMinusOne
	case len(a.badRun) > 0 && a.continuesBadBatch(partition, offset):
		a.badRun[partition] = offset + 1
		a.ledger.Fail(seq, partition)
		return false, OffsetMinusOne
	}
	if len(a.badRun) > 0 {
		delete(a.badRun, partition)
	}
	a.ledger.Ack(seq, partition, offset)
	return true, ""
}

// Batch starts the answers to one record batch sent to partition, for a
// producer that knows where its batches begin: a batch that began at offset
// -1 before this one does not run on into it.
func (a *Answers) Batch(partition int32) {
	if len(a.badRun) > 0 {
		delete(a.badRun, partition)
	}
}

// Failure records an answer with err for seq; partition is where it was
// headed (-1 if unknown). It returns the failure's reason.
func (a *Answers) Failure(seq int, partition int32, err error) string {
	a.ledger.Fail(seq, partition)
	return ErrorName(err, a.acks)
}

func (a *Answers) continuesBadBatch(p int32, offset int64) bool {
	next, ok := a.badRun[p]
	return ok && offset == next
}

// FailUnanswered marks every message of 0..n-1 still in flight as failed
// (no answer came) and returns how many there were.
func FailUnanswered(l *Ledger, n int) int {
	count := 0
	for seq := range n {
		if l.State(seq) == InFlight {
			l.Fail(seq, -1)
			count++
		}
	}
	return count
}

// ErrorName names a Kafka client error the way Kafka does
// (REQUEST_TIMED_OUT) and says what it means where that is not obvious;
// acks is the producer's ("" when it is not a produce error).
func ErrorName(err error, acks string) string {
	var ke sarama.KError
	if errors.As(err, &ke) {
		name := fmt.Sprintf("kafka error %d", int16(ke))
		if e, ok := kerr.ErrorForCode(int16(ke)).(*kerr.Error); ok {
			name = e.Message
		}
		switch {
		case ke == sarama.ErrRequestTimedOut && acks == "all":
			return name + " (commit timeout: the leader did not hear from enough replicas for acks=all in time)"
		case ke == sarama.ErrNotEnoughReplicas || ke == sarama.ErrNotEnoughReplicasAfterAppend:
			return name + " (fewer in-sync replicas than min.insync.replicas)"
		}
		return name
	}
	if errors.Is(err, breaker.ErrBreakerOpen) {
		return BreakerOpen
	}
	msg := err.Error()
	// Keep the number of distinct reasons small: drop addresses and ports.
	if i := strings.Index(msg, " tcp "); i >= 0 {
		msg = msg[:i] + " (network)"
	}
	return msg
}
