package scenarios

// produce sends the workload's keyed, self-verifying messages through the
// producer engine (producer.go) with the profile's acks, at workload.rate
// messages per second or as fast as the cluster takes them, and records in
// the ledger what the cluster answered for every message. With
// workload.concurrent_consume it reads every partition back while it
// produces (see 03_consume.go).
//
// Measures: throughput (first send to last answer), acknowledgement latency
// percentiles (a histogram, not a sample list; with a rate, counted from each
// message's scheduled send time, so a stalled cluster is not hidden by the
// sends it delayed), messages per partition and their variance, failures by
// error.
// Fails: on any message that was not acknowledged: an error, no answer before
// the deadline, or an answer with no error and an offset below 0 (Chronik's
// answer to a failed replicated write, which sarama passes on as a success;
// see verify.Answers).
// Cannot detect: on its own, whether acknowledged messages were stored; the
// consume scenario reads them back.

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

func init() { Register(produce{}) }

type produce struct{}

var _ Sharded = produce{}

// RunsSharded marks produce as one a shard may run: it sends the shard's sequence and key ranges alone.
func (produce) RunsSharded() {}

func (produce) Name() string       { return "produce" }
func (produce) Requires() []string { return []string{"topic-create"} }
func (produce) Summary() string {
	return "produce keyed, self-verifying messages with the profile's acks; every answer is recorded"
}

func (produce) Run(ctx context.Context, env *Env, step *Step) error {
	if !env.TopicReady {
		return Skip("no topic to produce to: topic-create did not finish")
	}
	w := env.Profile.Workload
	exp := env.Expect() // with --shard, the shard's part of the workload
	ledger := verify.NewLedger(exp.N)
	rate := w.Rate
	if env.Shard != nil && rate > 0 { // the group's rate: each shard its share, as of the messages
		rate = max(1, int(int64(rate)*int64(exp.N)/int64(w.Messages)))
	}
	if w.ConcurrentConsume {
		// Read every partition from now on; consume judges what was read.
		var err error
		if env.liveRead, err = startRead(ctx, env, env.Topic, exp, ledger, nil, true); err != nil {
			return fmt.Errorf("start reading while producing: %w", err)
		}
	}
	latency := workload.NewSharedLatency()
	e, err := startEngine(ctx, env, engineOptions{
		topic: env.Topic, mode: verify.Mode{Acks: w.Acks}, engine: w.Engine, compression: w.Compression, producers: w.Producers, rate: rate,
		valueBytes: w.ValueBytes, runID: env.RunID, keys: exp.Keys, ledger: ledger, seqBase: exp.SeqBase, keyBase: exp.KeyBase,
		latency: latency, progress: env.progress("produce", int64(exp.N)), leaderOf: env.leaderOf,
	})
	if err != nil {
		return err
	}
	defer closeWithin(ctx, 10*time.Second, e.close)
	env.Ledger, env.Acks = ledger, w.Acks

	select {
	case <-e.sendersDone():
	case <-ctx.Done():
	}
	unanswered := e.drain(ctx)
	closeWithin(ctx, 10*time.Second, e.close)
	if e.o.progress != nil {
		e.o.progress.Done()
	}
	st := e.stats()
	elapsed := st.last
	if st.answered == 0 {
		elapsed = time.Since(e.start)
	}

	// Record what happened.
	d := &env.Report.Delivery
	var acked int64
	for _, c := range st.perPartition {
		acked += c
	}
	env.Report.Produced = true
	d.Sent = st.sent
	d.Failed = st.sent - acked
	d.Acked = acked
	if w.Acks == "0" {
		d.Acked = 0
	}
	d.FailedByError = st.failedBy
	env.ClientReordered = e.mayReorder() && d.Failed > 0
	for p, c := range st.perPartition {
		env.partition(int32(p)).Messages = c
	}
	tp := &env.Report.Throughput
	tp.ProduceDurationS = elapsed.Seconds()
	tp.ProduceEngine = e.Engine()
	startedAt := e.start.UTC()
	tp.ProduceStartedAt = &startedAt
	if elapsed > 0 {
		tp.ProduceMsgsPerS = float64(st.answered) / elapsed.Seconds()
		tp.ProduceMBPerS = float64(st.answered) * float64(w.ValueBytes) / 1e6 / elapsed.Seconds()
	}
	env.Report.Latency = latencyReport(latency.Latency())
	env.Report.Distribution = distribution(st.perPartition)

	step.Metric("sent", float64(st.sent))
	step.Metric("acked", float64(d.Acked))
	step.Metric("failed", float64(d.Failed))
	step.Metric("msgs_per_sec", tp.ProduceMsgsPerS)
	step.Metric("p99_ms", env.Report.Latency.P99)
	if w.Producers > 1 {
		step.Metric("producers", float64(w.Producers))
	}

	if w.Acks == "0" {
		step.Notef("acks=0: the cluster acknowledges nothing, so no message counts as acknowledged; consume reports what came back without failing on what did not")
	}
	deadline := ctx.Err() != nil
	if rate > 0 {
		step.Metric("target_msgs_per_sec", float64(rate))
		step.Notef("rate %d msg/s: latency counts from each message's scheduled send time, so sends the cluster held up count against it (no coordinated omission)", rate)
		if !deadline && tp.ProduceMsgsPerS < 0.95*float64(rate) {
			step.Notef("the target rate was not reached: %.0f of %d msg/s; the latency percentiles include the wait of every late send", tp.ProduceMsgsPerS, rate)
		}
	}
	if d.Failed > 0 {
		step.Failf("%d of %d sent messages were not acknowledged: %s", d.Failed, st.sent, byCount(st.failedBy))
		step.failExamples(&st.failures)
	}
	if st.sent > 0 && len(exp.Keys) >= env.Profile.Topic.Partitions {
		for _, p := range unkeyed(env.Config(), env.Topic, exp.Keys, env.Profile.Topic.Partitions) {
			step.Notef("partition %d received no messages: the %d keys hash to the other partitions", p, len(exp.Keys))
		}
	}
	if deadline {
		return fmt.Errorf("%s while waiting for produce answers: %d of %d messages sent, %d answered (%d acknowledged), %d unanswered",
			stopped(ctx), st.sent, exp.N, st.answered, acked, unanswered)
	}
	return nil
}

// keyPartitions returns the partition each key hashes to under the
// producer's partitioner (-1 where it cannot say).
func keyPartitions(cfg *sarama.Config, topic string, keys [][]byte, partitions int) []int32 {
	partitioner := cfg.Producer.Partitioner(topic)
	out := make([]int32, len(keys))
	for i, k := range keys {
		p, err := partitioner.Partition(&sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(k)}, int32(partitions))
		if err != nil || p < 0 || int(p) >= partitions {
			p = -1
		}
		out[i] = p
	}
	return out
}

// unkeyed returns the partitions that none of keys hashes to under the
// producer's partitioner: partitions that receive no messages by design, as
// opposed to partitions whose messages all failed.
func unkeyed(cfg *sarama.Config, topic string, keys [][]byte, partitions int) []int32 {
	hit := make([]bool, partitions)
	for _, p := range keyPartitions(cfg, topic, keys, partitions) {
		if p >= 0 {
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
