package scenarios

// produce sends the workload's keyed messages through one pipelined async
// producer with the profile's acks, and records in the ledger what the
// cluster answered for every message.
//
// Measures: throughput (first send to last answer), acknowledgement latency
// percentiles (a histogram, not a sample list), messages per partition and
// their variance, failures by error.
// Fails: on any message that was not acknowledged: an error, no answer before
// the deadline, or an answer with no error and an offset below 0 (Chronik's
// answer to a failed replicated write, which sarama passes on as a success).
// Cannot detect: on its own, whether acknowledged messages were stored; the
// consume scenario reads them back. Sarama numbers a batch's messages from the
// batch's base offset, so after a base offset of -1 the batch's later
// messages arrive as offsets 0, 1, ...: they are recognised as the run that
// follows -1 on the same partition.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

func init() { Register(produce{}) }

type produce struct{}

var _ Scenario = produce{}

func (produce) Name() string       { return "produce" }
func (produce) Requires() []string { return []string{"topic-create"} }
func (produce) Summary() string {
	return "produce keyed, self-verifying messages with the profile's acks; every answer is recorded"
}

// sendMeta travels with each message through the producer.
type sendMeta struct {
	seq  int
	sent time.Time
}

// offsetMinusOne names Chronik's failed replicated write.
const offsetMinusOne = "broker acknowledged with offset -1 (error code 0): not an acknowledgement, the write was not committed"

func (produce) Run(ctx context.Context, env *Env, step *Step) error {
	if !env.TopicReady {
		return Skip("no topic to produce to: topic-create did not finish")
	}
	w := env.Profile.Workload
	acks, err := kafka.RequiredAcks(w.Acks)
	if err != nil {
		return err
	}
	cfg := env.Config()
	cfg.Producer.RequiredAcks = acks
	producer, err := sarama.NewAsyncProducer(env.Cluster.Bootstrap(), cfg)
	if err != nil {
		return fmt.Errorf("start producer against %v: %w", env.Cluster.Bootstrap(), err)
	}
	defer closeWithin(ctx, 10*time.Second, func() { _ = producer.Close() })

	n := w.Messages
	ledger := workload.NewLedger(n)
	env.Ledger, env.Acks = ledger, w.Acks
	keys := workload.Keys(w.Keys)
	hist := workload.NewLatency()
	partitions := env.Profile.Topic.Partitions
	perPartition := make([]int64, partitions)
	badRun := make(map[int32]int64) // partition -> next offset of a batch that began at -1
	failedBy := map[string]int64{}
	var failures examples
	failures.kind = "not acknowledged"
	progress := env.progress("produce", int64(n))

	start := time.Now()
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	sentCh := make(chan int, 1)
	go func() {
		sent := 0
		defer func() { sentCh <- sent }()
		for seq := 0; seq < n; seq++ {
			k := uint32(seq % w.Keys)
			value := make([]byte, w.ValueBytes)
			workload.Encode(value, workload.Payload{RunID: env.RunID, Seq: uint64(seq), Key: k}, keys[k])
			msg := &sarama.ProducerMessage{
				Topic:    env.Topic,
				Key:      sarama.ByteEncoder(keys[k]),
				Value:    sarama.ByteEncoder(value),
				Metadata: &sendMeta{seq: seq, sent: time.Now()},
			}
			ledger.Sent(seq)
			select {
			case producer.Input() <- msg:
				sent++
			case <-sendCtx.Done():
				// Never handed over: not sent.
				ledger.Unsend(seq)
				return
			}
		}
	}()

	fail := func(seq int, partition int32, reason string) {
		ledger.Fail(seq, partition)
		failedBy[reason]++
		leader := ""
		if partition >= 0 {
			leader = fmt.Sprintf(" (leader broker %d)", env.leaderOf(partition))
		}
		failures.add("seq %d (%s) to partition %d%s: %s", seq, keys[seq%w.Keys], partition, leader, reason)
	}

	answered, sent := 0, -1
	var last time.Time
	var deadline error
loop:
	for sent < 0 || answered < sent {
		select {
		case m := <-producer.Successes():
			meta := m.Metadata.(*sendMeta)
			answered++
			last = time.Now()
			progress.Add(1)
			hist.Record(last.Sub(meta.sent))
			switch {
			case acks == sarama.NoResponse:
				ledger.SentNoAck(meta.seq, m.Partition)
				perPartition[m.Partition]++
			case m.Offset < 0:
				badRun[m.Partition] = 0
				fail(meta.seq, m.Partition, offsetMinusOne)
			case continuesBadBatch(badRun, m.Partition, m.Offset):
				badRun[m.Partition] = m.Offset + 1
				fail(meta.seq, m.Partition, offsetMinusOne)
			default:
				delete(badRun, m.Partition)
				ledger.Ack(meta.seq, m.Partition, m.Offset)
				perPartition[m.Partition]++
			}
		case pe := <-producer.Errors():
			meta := pe.Msg.Metadata.(*sendMeta)
			answered++
			last = time.Now()
			progress.Add(1)
			partition := int32(-1)
			if pe.Msg.Partition >= 0 && int(pe.Msg.Partition) < partitions {
				partition = pe.Msg.Partition
			}
			fail(meta.seq, partition, errorName(pe.Err, w.Acks))
		case s := <-sentCh:
			sent = s
		case <-ctx.Done():
			deadline = ctx.Err()
			break loop
		}
	}
	progress.Done()
	stopSending()
	if sent < 0 {
		sent = <-sentCh
	}
	elapsed := last.Sub(start)
	if last.IsZero() {
		elapsed = time.Since(start)
	}

	unanswered := 0
	if deadline != nil {
		for seq := 0; seq < n; seq++ {
			if ledger.State(seq) == workload.InFlight {
				unanswered++
				ledger.Fail(seq, -1)
			}
		}
		if unanswered > 0 {
			failedBy["no answer: "+stopped(ctx)] += int64(unanswered)
		}
	}

	// Record what happened.
	d := &env.Report.Delivery
	var acked int64
	for _, c := range perPartition {
		acked += c
	}
	env.Report.Produced = true
	d.Sent = int64(sent)
	d.Failed = int64(sent) - acked
	if acks == sarama.NoResponse {
		d.Acked = 0
	} else {
		d.Acked = acked
	}
	d.FailedByError = failedBy
	for p, c := range perPartition {
		env.partition(int32(p)).Messages = c
	}
	tp := &env.Report.Throughput
	tp.ProduceDurationS = elapsed.Seconds()
	if elapsed > 0 {
		tp.ProduceMsgsPerS = float64(answered) / elapsed.Seconds()
		tp.ProduceMBPerS = float64(answered) * float64(w.ValueBytes) / 1e6 / elapsed.Seconds()
	}
	lat := &env.Report.Latency
	lat.P50 = ms(hist.Percentile(50))
	lat.P99 = ms(hist.Percentile(99))
	lat.P999 = ms(hist.Percentile(99.9))
	lat.Max = ms(hist.Max())
	lat.Mean = ms(hist.Mean())
	env.Report.Distribution = distribution(perPartition)

	step.Metric("sent", float64(sent))
	step.Metric("acked", float64(d.Acked))
	step.Metric("failed", float64(d.Failed))
	step.Metric("msgs_per_sec", tp.ProduceMsgsPerS)
	step.Metric("p99_ms", lat.P99)

	if acks == sarama.NoResponse {
		step.Notef("acks=0: the cluster acknowledges nothing, so no message counts as acknowledged; consume reports what came back without failing on what did not")
	}
	if d.Failed > 0 {
		step.Failf("%d of %d sent messages were not acknowledged: %s", d.Failed, sent, byCount(failedBy))
		failures.failInto(step)
	}
	if sent > 0 && w.Keys >= partitions {
		for _, p := range unkeyed(cfg, env.Topic, keys, partitions) {
			step.Notef("partition %d received no messages: the %d keys hash to the other partitions", p, w.Keys)
		}
	}
	if deadline != nil {
		return fmt.Errorf("%s while waiting for produce answers: %d of %d messages sent, %d answered (%d acknowledged), %d unanswered",
			stopped(ctx), sent, n, answered, acked, unanswered)
	}
	return nil
}

// unkeyed returns the partitions that none of keys hashes to under the
// producer's partitioner: partitions that receive no messages by design, as
// opposed to partitions whose messages all failed.
func unkeyed(cfg *sarama.Config, topic string, keys [][]byte, partitions int) []int32 {
	partitioner := cfg.Producer.Partitioner(topic)
	hit := make([]bool, partitions)
	for _, k := range keys {
		p, err := partitioner.Partition(&sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(k)}, int32(partitions))
		if err == nil && p >= 0 && int(p) < partitions {
			hit[p] = true
		}
	}
	var out []int32
	for p, h := range hit {
		if !h {
			out = append(out, int32(p))
		}
	}
	return out
}

// continuesBadBatch reports whether offset is the next in a batch whose base
// offset was -1 on partition p.
func continuesBadBatch(runs map[int32]int64, p int32, offset int64) bool {
	next, ok := runs[p]
	return ok && offset == next
}

// errorName names a produce error the way Kafka does (REQUEST_TIMED_OUT), and
// says what it means where that is not obvious.
func errorName(err error, acks string) string {
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
	msg := err.Error()
	// Keep the number of distinct reasons small: drop addresses and ports.
	if i := strings.Index(msg, " tcp "); i >= 0 {
		msg = msg[:i] + " (network)"
	}
	return msg
}

// byCount renders reason counts, most frequent first.
func byCount(m map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var list []kv
	for k, v := range m {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v || list[i].v == list[j].v && list[i].k < list[j].k })
	var parts []string
	for _, x := range list {
		parts = append(parts, fmt.Sprintf("%d × %s", x.v, x.k))
	}
	return strings.Join(parts, "; ")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// distribution computes the variance of messages per partition and the
// largest deviation from the mean in percent.
func distribution(counts []int64) (dist report.Distribution) {
	if len(counts) == 0 {
		return dist
	}
	var sum float64
	for _, c := range counts {
		sum += float64(c)
	}
	mean := sum / float64(len(counts))
	for _, c := range counts {
		dev := float64(c) - mean
		dist.Variance += dev * dev
		if mean > 0 {
			dist.MaxDeviationPct = math.Max(dist.MaxDeviationPct, math.Abs(dev)/mean*100)
		}
	}
	dist.Variance /= float64(len(counts))
	return dist
}
