package runner_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// defaultScenarios are the scenarios of the built-in profile, in its order.
var defaultScenarios = map[string]bool{"topic-create": true, "produce": true, "consume": true, "metadata": true}

// TestHealthyClusterPasses: a cluster that does nothing wrong passes, with
// every counter accounting for every message; 3x3 runs several times to show
// the verdict is stable.
func TestHealthyClusterPasses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                  string
		nodes, partitions, rf int
		runs                  int
	}{
		{"3x3", 3, 3, 3, 3},
		{"3x9", 3, 9, 3, 1},
		{"1x1 rf1", 1, 1, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for i := range tc.runs {
				p := smallProfile(t, tc.nodes, tc.partitions, tc.rf, nil)
				rep := run(t, p, startEmbedded(t, tc.nodes))
				verdicts(t, rep, defaultScenarios)
				checkHealthy(t, rep, tc.nodes, tc.partitions, tc.rf)
				if t.Failed() {
					t.Fatalf("run %d of %d failed", i+1, tc.runs)
				}
			}
		})
	}
}

// checkHealthy fails the test unless rep accounts for every message as sent,
// acked and read once, and shows the shape the profile asked for.
func checkHealthy(t *testing.T, rep *report.Report, nodes, partitions, rf int) {
	t.Helper()
	if !rep.Produced || !rep.Consumed {
		t.Errorf("report produced = %v, consumed = %v; want both", rep.Produced, rep.Consumed)
	}
	msgs := int64(rep.Config.Messages)
	d := rep.Delivery
	want := report.Delivery{Counts: report.Counts{Sent: msgs, Acked: msgs, Consumed: msgs}}
	got := d
	got.FailedByError = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("delivery = %+v, want %+v", got, want)
	}
	if len(d.FailedByError) != 0 {
		t.Errorf("failed_by_error = %v, want none", d.FailedByError)
	}
	if len(rep.Partitions) != partitions {
		t.Fatalf("report lists %d partitions, want %d", len(rep.Partitions), partitions)
	}
	var sum int64
	for _, p := range rep.Partitions {
		sum += p.Messages
		if p.HighWatermark != p.Messages {
			t.Errorf("partition %d: high watermark %d, want its %d acked messages", p.ID, p.HighWatermark, p.Messages)
		}
		if len(p.Replicas) != rf || len(p.ISR) != rf {
			t.Errorf("partition %d: replicas %v, isr %v, want %d of each", p.ID, p.Replicas, p.ISR, rf)
		}
	}
	if sum != msgs {
		t.Errorf("messages over partitions sum to %d, want %d", sum, msgs)
	}
	wantLeaders := map[string]int{}
	for b := range nodes {
		wantLeaders[fmt.Sprint(b)] = partitions / nodes
	}
	if !reflect.DeepEqual(rep.Leaders, wantLeaders) {
		t.Errorf("leaders = %v, want %v", rep.Leaders, wantLeaders)
	}
	for _, s := range rep.Scenarios {
		if len(s.Findings) > 0 || s.Error != "" {
			t.Errorf("scenario %s: error %q, findings %q", s.Name, s.Error, s.Findings)
		}
		if s.Name != "topic-create" && len(s.Notes) > 0 { // topic-create notes its timing
			t.Errorf("scenario %s: notes %q, want none", s.Name, s.Notes)
		}
	}
}

// withScenarios returns a profile edit that lists names as the scenarios.
func withScenarios(names ...string) func(*profile.Profile) {
	return func(p *profile.Profile) { p.Scenarios = names }
}

// TestProduceRequestTimedOut: a leader that answers REQUEST_TIMED_OUT under
// acks=all but applies the write (Chronik's commit timeout). Produce must
// fail naming the error; consume must read the records back as unacknowledged
// reads, which is allowed, and call nothing lost.
func TestProduceRequestTimedOut(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testProduceRequestTimedOut)
}

func testProduceRequestTimedOut(t *testing.T, engine string) {
	c := startEmbedded(t, 3)
	fault := c.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut, Count: 3})
	rep := run(t, smallProfile(t, 3, 3, 3, withEngine(engine)), c)
	wantEngine(t, rep, engine)

	if hits := fault.Hits(); hits != 3 {
		t.Fatalf("the fault answered %d produce requests, want 3", hits)
	}
	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true, "metadata": true})
	d := rep.Delivery
	reason := "REQUEST_TIMED_OUT (commit timeout: the leader did not hear from enough replicas for acks=all in time)"
	if d.Failed == 0 || d.FailedByError[reason] != d.Failed || len(d.FailedByError) != 1 {
		t.Errorf("failed = %d, failed_by_error = %v, want every failure under %q", d.Failed, d.FailedByError, reason)
	}
	if d.Acked+d.Failed != d.Sent || d.Sent != int64(rep.Config.Messages) {
		t.Errorf("sent %d, acked %d, failed %d: want acked + failed = sent = %d", d.Sent, d.Acked, d.Failed, rep.Config.Messages)
	}
	produce := section(t, rep, "produce")
	wantFinding(t, produce, fmt.Sprintf("%d of %d sent messages were not acknowledged: %d × REQUEST_TIMED_OUT", d.Failed, d.Sent, d.Failed))
	wantFinding(t, produce, "not acknowledged: seq ", "(leader broker ", "REQUEST_TIMED_OUT")

	// The writes were applied: every record is read back once, the timed-out
	// ones as unacknowledged reads.
	if d.UnackedRead != d.Failed || d.Consumed != d.Sent {
		t.Errorf("unacked_read = %d, consumed = %d: want %d and %d", d.UnackedRead, d.Consumed, d.Failed, d.Sent)
	}
	if d.Lost+d.Duplicated+d.Unexpected+d.Misplaced != 0 {
		t.Errorf("delivery = %+v, want nothing lost, duplicated, unexpected or misplaced", d)
	}
	consume := section(t, rep, "consume")
	// The batch engine sends every partition in order. Sarama's producer
	// without retries, once an answer failed, may send earlier messages of
	// the partition after later ones (it did, now and then, under load): a
	// reordering is then allowed, and the note says it may be the client's.
	switch {
	case engine == profile.EngineBatch && d.Reordered != 0:
		t.Errorf("delivery = %+v, want nothing reordered", d)
	case d.Reordered != 0 && len(notesWith(consume, "reordered record(s), allowed", verify.ClientReorders)) == 0:
		t.Errorf("%d reordered, allowed without a note naming the client's reordering; notes %q", d.Reordered, consume.Notes)
	}
	if n := len(notesWith(consume, "read back although not acknowledged", "failed, partition ")); n == 0 {
		t.Errorf("consume: no note on records read back although not acknowledged; notes %q", consume.Notes)
	}
}

// answerMinusOne makes every produce request that touches a partition for
// which pick is true be answered, without a write, with error code 0 and base
// offset -1 on every partition it carries: Chronik's answer to a replicated
// write that failed.
func answerMinusOne(kc *kfake.Cluster, pick func(partition int32) bool) {
	answerUnwritten(kc, pick, false)
}

// answerUnwritten answers every produce request that touches a partition for
// which pick is true without a write: with error code 0 and base offset -1
// on every partition it carries, or with omit with none of its partitions.
func answerUnwritten(kc *kfake.Cluster, pick func(partition int32) bool, omit bool) {
	kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		picked := false
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				picked = picked || pick(rp.Partition)
			}
		}
		if !picked {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		resp.SetVersion(req.Version)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				if omit {
					break
				}
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = 0
				sp.BaseOffset = -1
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}

// TestProduceOffsetMinusOne: a broker that answers produce with no error
// but offset -1 and writes nothing. Sarama reports such a batch as a
// success numbered -1, 0, 1, …; not one of its messages may count as acked.
func TestProduceOffsetMinusOne(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testProduceOffsetMinusOne)
}

func testProduceOffsetMinusOne(t *testing.T, engine string) {
	for _, tc := range []struct {
		name string
		bad  func(partition int32) bool
	}{
		{"every partition", func(int32) bool { return true }},
		{"partition 1", func(p int32) bool { return p == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startEmbedded(t, 3) // leaders 0, 1, 2: one partition per produce request
			answerMinusOne(c.Kfake(), tc.bad)
			rep := run(t, smallProfile(t, 3, 3, 3, withEngine(engine)), c)
			wantEngine(t, rep, engine)

			verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true, "metadata": true})
			d := rep.Delivery
			var badMsgs, goodMsgs int64
			for _, p := range rep.Partitions {
				if tc.bad(p.ID) {
					if p.Messages != 0 || p.HighWatermark != 0 {
						t.Errorf("partition %d: %d messages acked, high watermark %d; want 0 and 0", p.ID, p.Messages, p.HighWatermark)
					}
				} else {
					goodMsgs += p.Messages
					if p.HighWatermark != p.Messages {
						t.Errorf("partition %d: high watermark %d, want its %d acked messages", p.ID, p.HighWatermark, p.Messages)
					}
				}
			}
			badMsgs = d.Sent - goodMsgs
			if d.Failed == 0 || d.Failed != badMsgs || d.Acked != goodMsgs {
				t.Errorf("acked %d, failed %d; want acked %d (the good partitions), failed %d (every message of a -1 batch)", d.Acked, d.Failed, goodMsgs, badMsgs)
			}
			var reason string
			for r, n := range d.FailedByError {
				if strings.Contains(r, "offset -1") && n == d.Failed {
					reason = r
				}
			}
			if reason == "" || len(d.FailedByError) != 1 {
				t.Errorf("failed_by_error = %v, want all %d failures under one reason naming offset -1", d.FailedByError, d.Failed)
			}
			produce := section(t, rep, "produce")
			wantFinding(t, produce, fmt.Sprintf("%d of %d sent messages were not acknowledged", d.Failed, d.Sent), "offset -1")
			for _, f := range findingsWith(produce, "not acknowledged: seq ") {
				var p int32
				if _, err := fmt.Sscanf(f[strings.Index(f, " to partition ")+1:], "to partition %d", &p); err != nil || !tc.bad(p) {
					t.Errorf("finding %q does not name a partition answered with -1", f)
				}
				if !strings.Contains(f, "offset -1") {
					t.Errorf("finding %q does not say offset -1", f)
				}
			}
			for _, n := range notesWith(produce, "received no messages") {
				t.Errorf("produce note %q: the partition's messages failed, its keys did not hash elsewhere", n)
			}
			if d.Consumed != d.Acked || d.Lost != 0 || d.UnackedRead != 0 {
				t.Errorf("consumed %d, lost %d, unacked read %d; want %d, 0, 0: nothing was written for the -1 batches", d.Consumed, d.Lost, d.UnackedRead, d.Acked)
			}
		})
	}
}

// forEachEngine runs test, in parallel, once with each producer engine: the
// verdicts on a misbehaving cluster must not depend on the engine.
func forEachEngine(t *testing.T, test func(t *testing.T, engine string)) {
	t.Helper()
	for _, engine := range []string{profile.EngineBatch, profile.EngineSarama} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			test(t, engine)
		})
	}
}

// withEngine sets workload.engine.
func withEngine(engine string) func(*profile.Profile) {
	return func(p *profile.Profile) { p.Workload.Engine = engine }
}

// wantEngine fails the test unless rep says engine produced.
func wantEngine(t *testing.T, rep *report.Report, engine string) {
	t.Helper()
	if got := rep.Throughput.ProduceEngine; got != engine {
		t.Errorf("report: produce engine %q, want %q", got, engine)
	}
}

// onlyPartition fails the test unless every message produce names as not
// acknowledged was headed for partition p.
func onlyPartition(t *testing.T, produce *report.Scenario, p int32) {
	t.Helper()
	for _, f := range findingsWith(produce, "not acknowledged: seq ") {
		if !strings.Contains(f, fmt.Sprintf(" to partition %d ", p)) {
			t.Errorf("finding %q: only partition %d's messages failed", f, p)
		}
	}
}

// TestProduceNotLeaderMidRun: partition 1's leadership moves to another
// broker while the runner produces, so the old leader answers the batch in
// hand NOT_LEADER_FOR_PARTITION. That batch fails, named (nothing is retried);
// the producer finds the new leader and the rest of the partition's
// messages are acknowledged there; consume reads every acknowledged
// message and nothing else.
func TestProduceNotLeaderMidRun(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testProduceNotLeaderMidRun)
}

func testProduceNotLeaderMidRun(t *testing.T, engine string) {
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	var requests int
	var moved atomic.Bool
	kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		if moved.Load() || req.Acks != -1 || !slices.ContainsFunc(req.Topics, func(rt kmsg.ProduceRequestTopic) bool {
			return slices.ContainsFunc(rt.Partitions, func(rp kmsg.ProduceRequestTopicPartition) bool { return rp.Partition == 1 })
		}) {
			return nil, nil, false
		}
		if requests++; requests < 3 {
			return nil, nil, false
		}
		// The third request for partition 1: move its leader away from
		// the broker that received it, which then answers it NOT_LEADER.
		moved.Store(true)
		node, topic := kc.CurrentNode(), req.Topics[0].Topic
		kc.SleepControl(func() {
			if err := kc.MoveTopicPartition(topic, 1, (node+1)%3); err != nil {
				t.Errorf("move partition 1: %v", err)
			}
		})
		return nil, nil, false
	})
	rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
		withScenarios("topic-create", "produce", "consume")(p) // metadata would find the leader skew
		p.Workload.Engine = engine
		p.Workload.Rate = 1000 // small batches: partition 1 has many requests
	}), c)
	wantEngine(t, rep, engine)

	if !moved.Load() {
		t.Fatal("the leader of partition 1 never moved")
	}
	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true})
	d := rep.Delivery
	const reason = "NOT_LEADER_FOR_PARTITION"
	if d.Failed == 0 || d.FailedByError[reason] != d.Failed || len(d.FailedByError) != 1 {
		t.Errorf("failed = %d, failed_by_error = %v, want every failure under %q", d.Failed, d.FailedByError, reason)
	}
	if d.Acked+d.Failed != d.Sent || d.Sent != int64(rep.Config.Messages) {
		t.Errorf("sent %d, acked %d, failed %d: want acked + failed = sent = %d", d.Sent, d.Acked, d.Failed, rep.Config.Messages)
	}
	produce := section(t, rep, "produce")
	wantFinding(t, produce, fmt.Sprintf("%d of %d sent messages were not acknowledged: %d × %s", d.Failed, d.Sent, d.Failed, reason))
	onlyPartition(t, produce, 1)
	// The messages after the move reached the new leader.
	if p := rep.Partitions[1]; p.Messages == 0 || p.HighWatermark != p.Messages {
		t.Errorf("partition 1: %d messages acked, high watermark %d; want the messages after the move acked at the new leader", p.Messages, p.HighWatermark)
	}
	if d.Consumed != d.Acked || d.Lost != 0 || d.UnackedRead != 0 || d.Duplicated+d.Reordered+d.Unexpected+d.Misplaced != 0 {
		t.Errorf("delivery = %+v, want every acked message read once and nothing else", d)
	}
}

// TestProduceAnswerMissingPartition: a broker whose produce answers leave
// out partition 1 (and write nothing for it). The messages of a batch with
// no answer fail under the client's name for it, with either engine; the
// other partitions' messages are acknowledged and read back.
func TestProduceAnswerMissingPartition(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testProduceAnswerMissingPartition)
}

func testProduceAnswerMissingPartition(t *testing.T, engine string) {
	c := startEmbedded(t, 3) // leaders 0, 1, 2: one partition per produce request
	answerUnwritten(c.Kfake(), func(p int32) bool { return p == 1 }, true)
	rep := run(t, smallProfile(t, 3, 3, 3, withEngine(engine)), c)
	wantEngine(t, rep, engine)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true, "metadata": true})
	d := rep.Delivery
	const reason = "kafka: response did not contain all the expected topic/partition blocks"
	if p := rep.Partitions[1]; d.Failed == 0 || d.Failed != d.Sent-d.Acked || p.Messages != 0 || p.HighWatermark != 0 {
		t.Errorf("sent %d, acked %d, failed %d, partition 1 acked %d (high watermark %d); want partition 1's messages, and only they, failed",
			d.Sent, d.Acked, d.Failed, p.Messages, p.HighWatermark)
	}
	if !reflect.DeepEqual(d.FailedByError, map[string]int64{reason: d.Failed}) {
		t.Errorf("failed_by_error = %v, want all %d under %q", d.FailedByError, d.Failed, reason)
	}
	onlyPartition(t, section(t, rep, "produce"), 1)
	if d.Consumed != d.Acked || d.Lost != 0 || d.UnackedRead != 0 {
		t.Errorf("consumed %d, lost %d, unacked read %d; want %d, 0, 0", d.Consumed, d.Lost, d.UnackedRead, d.Acked)
	}
}

// TestLostRecords: records acknowledged and then deleted (DeleteRecords moves
// the log start past them) are never read: consume must call them lost,
// naming partition and offset.
func TestLostRecords(t *testing.T) {
	t.Parallel()
	const cut = 10
	c := startEmbedded(t, 3)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		return c.Kfake().DeleteRecords(env.Topic, 0, cut)
	})
	rep := run(t, smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", hookName, "consume", "metadata")), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
	d := rep.Delivery
	if d.Lost != cut || d.Consumed != d.Acked-cut {
		t.Errorf("lost %d, consumed %d of %d acked; want %d lost", d.Lost, d.Consumed, d.Acked, cut)
	}
	if d.Duplicated+d.Reordered+d.Unexpected+d.Misplaced+d.UnackedRead != 0 {
		t.Errorf("delivery = %+v, want only lost records", d)
	}
	consume := section(t, rep, "consume")
	wantFinding(t, consume, fmt.Sprintf("%d lost record(s)", cut))
	lost := findingsWith(consume, "lost: sequence ", "never read (leader broker 0)")
	if len(lost) != cut {
		t.Fatalf("consume names %d lost records, want %d: %q", len(lost), cut, consume.Findings)
	}
	seen := map[int64]bool{}
	for _, f := range lost {
		var off int64
		i := strings.Index(f, "acknowledged at partition 0 offset ")
		if i < 0 {
			t.Errorf("finding %q does not name partition 0", f)
			continue
		}
		if _, err := fmt.Sscanf(f[i:], "acknowledged at partition 0 offset %d", &off); err != nil || off < 0 || off >= cut || seen[off] {
			t.Errorf("finding %q: want a distinct offset below the new log start %d", f, cut)
		}
		seen[off] = true
	}
}

// TestDuplicatedRecords: a second client reads five of the run's records and
// writes them again, byte for byte: consume must count them duplicated, and
// nothing else.
func TestDuplicatedRecords(t *testing.T) {
	t.Parallel()
	const dups = 5
	c := startEmbedded(t, 3)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		again, err := readCopies(ctx, env, 0, dups)
		if err != nil {
			return err
		}
		return writeBehind(ctx, env, again...)
	})
	rep := run(t, smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", hookName, "consume", "metadata")), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
	d := rep.Delivery
	if d.Duplicated != dups || d.Consumed != d.Acked+dups {
		t.Errorf("duplicated %d, consumed %d of %d acked; want %d duplicated", d.Duplicated, d.Consumed, d.Acked, dups)
	}
	if d.Lost+d.Reordered+d.Unexpected+d.Misplaced+d.UnackedRead != 0 {
		t.Errorf("delivery = %+v, want only duplicated records", d)
	}
	consume := section(t, rep, "consume")
	wantFinding(t, consume, fmt.Sprintf("%d duplicated record(s)", dups))
	if got := findingsWith(consume, "duplicated: sequence ", "read 2 times (acknowledged at partition 0 offset "); len(got) != dups {
		t.Errorf("consume names %d duplicated records of partition 0, want %d: %q", len(got), dups, consume.Findings)
	}
}

// TestUnexpectedRecords: a second client writes records that are not this
// run's messages; consume must call each unexpected, naming partition,
// offset and why.
func TestUnexpectedRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		record func(env *scenarios.Env) *kgo.Record // builds one foreign record
		why    string
	}{
		{"random bytes", func(*scenarios.Env) *kgo.Record {
			v := make([]byte, 64)
			_, _ = rand.Read(v)
			return &kgo.Record{Key: []byte("key-1"), Value: v}
		}, "not a chronik-e2e payload"},
		{"another run", func(env *scenarios.Env) *kgo.Record {
			return payload(env.RunID^0xFF, 1, 1)
		}, "payload of another run (run id "},
		{"sequence never sent", func(env *scenarios.Env) *kgo.Record {
			w := env.Profile.Workload
			return payload(env.RunID, uint64(w.Messages+1), uint32((w.Messages+1)%w.Keys))
		}, "sequence 601 beyond the 600 messages of this run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const foreign = 3
			c := startEmbedded(t, 3)
			onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
				var recs []*kgo.Record
				for range foreign {
					r := tc.record(env)
					r.Partition = 2
					recs = append(recs, r)
				}
				return writeBehind(ctx, env, recs...)
			})
			rep := run(t, smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", hookName, "consume", "metadata")), c)

			verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
			d := rep.Delivery
			if d.Unexpected != foreign || d.Consumed != d.Acked {
				t.Errorf("unexpected %d, consumed %d of %d acked; want %d unexpected and every acked record read", d.Unexpected, d.Consumed, d.Acked, foreign)
			}
			if d.Lost+d.Duplicated+d.Reordered+d.Misplaced+d.UnackedRead != 0 {
				t.Errorf("delivery = %+v, want only unexpected records", d)
			}
			consume := section(t, rep, "consume")
			wantFinding(t, consume, fmt.Sprintf("%d unexpected record(s)", foreign))
			// The foreign records follow the run's own on partition 2.
			after := rep.Partitions[2].Messages
			for i := range int64(foreign) {
				wantFinding(t, consume, fmt.Sprintf("unexpected: partition 2 offset %d: ", after+i), tc.why)
			}
		})
	}
}

// payload returns a record carrying a valid payload of run runID.
func payload(runID, seq uint64, key uint32) *kgo.Record {
	k := workload.Key(key)
	v := make([]byte, 100)
	workload.Encode(v, workload.Payload{RunID: runID, Seq: seq, Key: key}, k)
	return &kgo.Record{Key: k, Value: v}
}

// TestReorderedRecords: a leader answers REQUEST_TIMED_OUT to the first
// produce of partition 0 without writing it, and applies that write late,
// after newer records of the same keys (the write a commit timeout left
// pending lands later). Consume must call the late records reordered, naming
// partition and offset, and nothing else; produce fails on the timeout.
//
// A reordering of acknowledged records alone cannot be built: kfake answers
// one connection's requests in order, and a broker that stores a record
// elsewhere than it acknowledged makes it misplaced as well.
func TestReorderedRecords(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	var (
		mu    sync.Mutex
		held  []byte // the first batch of partition 0, not written
		heldN int32
	)
	kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		found := false
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				if rp.Partition == 0 {
					found = true
					mu.Lock()
					held = slices.Clone(rp.Records)
					mu.Unlock()
				}
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.RequestTimedOut.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		if !found {
			return nil, nil, false // the cluster answers; the control stays
		}
		return resp, nil, true // answered once: the control is dropped
	})

	// expected is how many late records consume must call reordered: those
	// whose key has a later sequence acknowledged on partition 0.
	var expected int64
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		mu.Lock()
		held := held
		mu.Unlock()
		if held == nil {
			return fmt.Errorf("no produce request for partition 0 was held")
		}
		var batch kmsg.RecordBatch
		if err := batch.ReadFrom(held); err != nil {
			return fmt.Errorf("held batch: %w", err)
		}
		heldN = batch.NumRecords
		keys := env.Profile.Workload.Keys
		latest := make([]int, keys) // per key: the highest sequence acked on partition 0
		for seq := range env.Ledger.Len() {
			if p, _ := env.Ledger.Position(seq); p == 0 && env.Ledger.State(seq) == verify.Acked {
				latest[seq%keys] = seq
			}
		}
		for seq := range env.Ledger.Len() {
			if env.Ledger.State(seq) == verify.Failed && latest[seq%keys] > seq {
				expected++
			}
		}

		cl, err := secondClient(env)
		if err != nil {
			return err
		}
		defer cl.Close()
		if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = -1, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = env.Topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = 0, held
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		kresp, err := cl.Broker(int(kc.LeaderFor(env.Topic, 0))).Request(ctx, req)
		if err != nil {
			return fmt.Errorf("late write: %w", err)
		}
		if code := kresp.(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode; code != 0 {
			return fmt.Errorf("late write: %v", kerr.ErrorForCode(code))
		}
		return nil
	})
	rep := run(t, smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", hookName, "consume", "metadata")), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, hookName: true, "consume": false, "metadata": true})
	d := rep.Delivery
	if d.Failed != int64(heldN) || d.UnackedRead != int64(heldN) {
		t.Errorf("failed %d, unacked read %d; want both %d, the held batch", d.Failed, d.UnackedRead, heldN)
	}
	if expected == 0 || d.Reordered != expected {
		t.Errorf("reordered %d, want %d (late records with a newer sequence of their key before them)", d.Reordered, expected)
	}
	if d.Lost+d.Duplicated+d.Unexpected+d.Misplaced != 0 || d.Consumed != d.Sent {
		t.Errorf("delivery = %+v, want every record read once, none lost, duplicated, unexpected or misplaced", d)
	}
	wantFinding(t, section(t, rep, "produce"), "REQUEST_TIMED_OUT")
	consume := section(t, rep, "consume")
	wantFinding(t, consume, fmt.Sprintf("%d reordered record(s)", expected))
	after := rep.Partitions[0].Messages // the late write lands after partition 0's acked records
	for _, f := range findingsWith(consume, "reordered: partition ") {
		var off, seq, key, later int64
		if _, err := fmt.Sscanf(f, "reordered: partition 0 offset %d: sequence %d (key-%d) read after sequence %d of the same key", &off, &seq, &key, &later); err != nil {
			t.Errorf("finding %q: %v", f, err)
			continue
		}
		if off < after || later <= seq {
			t.Errorf("finding %q: want an offset from %d on and a later sequence", f, after)
		}
	}
}

// answerMetadata makes the cluster answer every metadata request from now on
// with snap. A control runs on the cluster goroutine and cannot ask the
// cluster for its answer, so snap is the cluster's own answer, captured by a
// normal client and then edited.
func answerMetadata(kc *kfake.Cluster, snap *kmsg.MetadataResponse) {
	kc.ControlKey(int16(kmsg.Metadata), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		resp := kreq.(*kmsg.MetadataRequest).ResponseKind().(*kmsg.MetadataResponse)
		resp.Brokers, resp.ClusterID, resp.ControllerID = snap.Brokers, snap.ClusterID, snap.ControllerID
		resp.Topics = snap.Topics
		return resp, nil, true
	})
}

// TestUnderReplicated: kfake always reports every replica in sync, so the
// metadata the cluster answers is captured and one partition's replicas or
// in-sync replicas are cut to its leader before it is served again. The
// metadata scenario must name the partition, the replicas and the leader.
// Served unedited, the captured answer passes: the failures come from the
// edits, not from the technique.
func TestUnderReplicated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(p *kmsg.MetadataResponseTopicPartition)
		want [][]string // each: the parts of one finding; none: metadata passes
	}{
		{
			name: "unedited",
			edit: func(*kmsg.MetadataResponseTopicPartition) {},
		},
		{
			name: "one in-sync replica",
			edit: func(p *kmsg.MetadataResponseTopicPartition) { p.ISR = []int32{p.Leader} },
			want: [][]string{{"partition 1 is under-replicated: in-sync replicas [1] (1 of 3), replicas [1 ", "(leader broker 1)"}},
		},
		{
			name: "single-node raft group",
			edit: func(p *kmsg.MetadataResponseTopicPartition) {
				p.Replicas, p.ISR = []int32{p.Leader}, []int32{p.Leader}
			},
			want: [][]string{
				{"partition 1 has replicas [1] (1), want 3 distinct replicas (leader broker 1)"},
				{"partition 1 is under-replicated: in-sync replicas [1] (1 of 3), replicas [1] (leader broker 1)"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startEmbedded(t, 3)
			onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
				snap, err := metadataSnapshot(ctx, env)
				if err != nil {
					return err
				}
				for i := range snap.Topics[0].Partitions {
					if p := &snap.Topics[0].Partitions[i]; p.Partition == 1 {
						tc.edit(p)
					}
				}
				answerMetadata(c.Kfake(), snap)
				return nil
			})
			rep := run(t, smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", "consume", hookName, "metadata")), c)

			verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": true, hookName: true, "metadata": len(tc.want) == 0})
			md := section(t, rep, "metadata")
			if len(md.Findings) != len(tc.want) {
				t.Errorf("metadata has %d findings, want %d: %q", len(md.Findings), len(tc.want), md.Findings)
			}
			for _, parts := range tc.want {
				wantFinding(t, md, parts...)
			}
			if isr := rep.Partitions[1].ISR; len(tc.want) > 0 && !slices.Equal(isr, []int32{1}) {
				t.Errorf("report: partition 1 isr %v, want [1]", isr)
			}
		})
	}
}

// TestLeaderSkew: every partition moved to broker 0 after the topic was
// created. The metadata scenario must name broker 0 and the partitions it
// leads, and the brokers that lead none.
func TestLeaderSkew(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		// The embedded cluster places a new topic's leaders before it answers
		// the next metadata request: let that happen before moving them.
		if err := env.Client.RefreshMetadata(env.Topic); err != nil {
			return err
		}
		for p := range int32(env.Profile.Topic.Partitions) {
			if err := c.Kfake().MoveTopicPartition(env.Topic, p, 0); err != nil {
				return err
			}
		}
		return nil
	})
	rep := run(t, smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", "consume", hookName, "metadata")), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": true, hookName: true, "metadata": false})
	if want := map[string]int{"0": 3, "1": 0, "2": 0}; !reflect.DeepEqual(rep.Leaders, want) {
		t.Errorf("leaders = %v, want %v", rep.Leaders, want)
	}
	md := section(t, rep, "metadata")
	wantFinding(t, md, "leader skew: broker 0 leads 3 partitions [0 1 2], at most 1 expected for 3 partitions over 3 brokers")
	wantFinding(t, md, "leader skew: broker 1 leads 0 partitions [], at least 1 expected")
	wantFinding(t, md, "leader skew: broker 2 leads 0 partitions [], at least 1 expected")
	if len(md.Findings) != 3 {
		t.Errorf("metadata has %d findings, want the 3 on leader skew: %q", len(md.Findings), md.Findings)
	}
}

// TestMissingBroker: the profile wants 3 brokers, the cluster has 2. The run
// waits out cluster_ready, then gives up (exit 3) naming the brokers it saw
// and what to change; nothing runs.
func TestMissingBroker(t *testing.T) {
	t.Parallel()
	const ready = 2 * time.Second
	c := startEmbedded(t, 2)
	start := time.Now()
	rep, err := runErr(t, smallProfile(t, 3, 3, 2, func(p *profile.Profile) { p.Timeouts.ClusterReady.Duration = ready }), c)
	if took := time.Since(start); took < ready {
		t.Errorf("run took %s, want at least cluster_ready (%s): it must wait for the missing broker", took, ready)
	}
	if code := exitcode.Code(err); code != exitcode.Unreachable {
		t.Fatalf("exit code = %d (%v), want %d", code, err, exitcode.Unreachable)
	}
	if !containsAll(err.Error(), "the cluster lists 2 broker(s), not the 3 of cluster.nodes", "0 127.0.0.1:", "1 127.0.0.1:") {
		t.Errorf("error %q does not name the brokers seen", err)
	}
	if hint := exitcode.Hint(err); !strings.Contains(hint, "--nodes 2") {
		t.Errorf("hint %q does not say --nodes 2", hint)
	}
	if rep == nil || len(rep.Scenarios) != 0 || rep.Passed {
		t.Errorf("report %+v: want one that failed and ran nothing", rep)
	}
}

// neverAnswer makes the cluster swallow every request of key: no answer, no error.
func neverAnswer(kc *kfake.Cluster, key kmsg.Key) {
	kc.ControlKey(int16(key), func(kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		return nil, nil, true
	})
}

// hangTimeout is the scenario deadline of the tests that provoke a hang.
const hangTimeout = 5 * time.Second

// checkEndsAtDeadline fails the test unless s ran at least hangTimeout and
// did not overrun it by as much again: closing a client stuck on a broker
// that does not answer must not hold the scenario past its deadline.
func checkEndsAtDeadline(t *testing.T, s *report.Scenario) {
	t.Helper()
	if s.DurationS < hangTimeout.Seconds() || s.DurationS > 2*hangTimeout.Seconds() {
		t.Errorf("scenario %s took %.2fs, want its deadline %s and not much more", s.Name, s.DurationS, hangTimeout)
	}
}

// TestFetchNeverAnswered: fetches are swallowed. Consume must end at its
// deadline and say, per partition, how far it read; nothing is called lost.
func TestFetchNeverAnswered(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	neverAnswer(c.Kfake(), kmsg.Fetch)
	rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) { p.Timeouts.Scenario.Duration = hangTimeout }), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": false, "metadata": true})
	consume := section(t, rep, "consume")
	wantError(t, consume, fmt.Sprintf("timed out after %s: could not read every partition to its high watermark: ", hangTimeout))
	for _, p := range rep.Partitions {
		m := p.Messages
		wantError(t, consume, fmt.Sprintf("partition %d: read 0 of %d records up to high watermark %d (%d acked; next offset 0; leader broker %d): the scenario deadline passed",
			p.ID, m, m, m, p.ID))
	}
	checkEndsAtDeadline(t, consume)
	d := rep.Delivery
	if d.Acked != d.Sent || d.Consumed != 0 || d.Lost != 0 {
		t.Errorf("acked %d of %d, consumed %d, lost %d; want all acked, none read, none called lost", d.Acked, d.Sent, d.Consumed, d.Lost)
	}
}

// TestProduceNeverAnswered: produce requests are swallowed. Produce must end
// at its deadline, say how far it got, and count every message sent as
// failed for want of an answer.
func TestProduceNeverAnswered(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testProduceNeverAnswered)
}

func testProduceNeverAnswered(t *testing.T, engine string) {
	c := startEmbedded(t, 3)
	neverAnswer(c.Kfake(), kmsg.Produce)
	rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
		p.Timeouts.Scenario.Duration = hangTimeout
		p.Workload.Engine = engine
	}), c)
	wantEngine(t, rep, engine)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true, "metadata": true})
	d := rep.Delivery
	const reason = "no answer: the scenario deadline passed"
	if d.Sent == 0 || d.Acked != 0 || d.Failed != d.Sent || !reflect.DeepEqual(d.FailedByError, map[string]int64{reason: d.Sent}) {
		t.Errorf("sent %d, acked %d, failed %d, failed_by_error %v; want every sent message failed with %q", d.Sent, d.Acked, d.Failed, d.FailedByError, reason)
	}
	produce := section(t, rep, "produce")
	wantError(t, produce, fmt.Sprintf("timed out after %s: the scenario deadline passed while waiting for produce answers: %d of %d messages sent, 0 answered (0 acknowledged), %d unanswered",
		hangTimeout, d.Sent, rep.Config.Messages, d.Sent))
	wantFinding(t, produce, fmt.Sprintf("%d of %d sent messages were not acknowledged: %d × %s", d.Sent, d.Sent, d.Sent, reason))
	checkEndsAtDeadline(t, produce)
	if d.Consumed != 0 || d.Lost != 0 || d.UnackedRead != 0 {
		t.Errorf("consumed %d, lost %d, unacked read %d; want nothing: nothing was written", d.Consumed, d.Lost, d.UnackedRead)
	}
}

// TestUnreachableBootstrap: no broker answers at the bootstrap address.
// Run must not start, and fail with exit code 3 naming the address.
func TestUnreachableBootstrap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		addr func(t *testing.T) string
		why  string
	}{
		{"connection refused", func(*testing.T) string { return "127.0.0.1:1" }, "connection refused"},
		{"accepts, never answers", silentListener, "no answer before the deadline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := tc.addr(t)
			p := smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
				p.Cluster.Mode, p.Cluster.Bootstrap = profile.ModeAttach, []string{addr}
				p.Timeouts.ClusterReady.Duration = time.Second
			})
			start := time.Now()
			rep, err := runErr(t, p, nil)
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("runner.Run took %s to give up, want about cluster_ready (%s)", took.Round(time.Millisecond), p.Timeouts.ClusterReady)
			}
			if err == nil {
				t.Fatalf("runner.Run returned no error, want the cluster unreachable")
			}
			if rep == nil || rep.Passed || rep.Error != err.Error() || len(rep.Scenarios) != 0 {
				t.Errorf("runner.Run returned report %+v with its error; want one that failed, ran nothing and says why", rep)
			}
			if code := exitcode.Code(err); code != exitcode.Unreachable {
				t.Errorf("exit code = %d, want %d", code, exitcode.Unreachable)
			}
			if msg := err.Error(); !containsAll(msg, "no broker answered a metadata request within", addr+": ", tc.why) {
				t.Errorf("error %q does not name %s and why (%q)", msg, addr, tc.why)
			}
			if exitcode.Hint(err) == "" {
				t.Errorf("error carries no hint")
			}
		})
	}
}

// silentListener returns the address of a listener that accepts connections
// and never answers on them, closed with the test.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}
