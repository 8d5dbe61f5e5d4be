package runner_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// answerProduce answers the produce requests for which answer returns a
// response, without a write; the others are written and answered as usual.
// answer gets a response of the request's version, listing its topics.
func answerProduce(kc *kfake.Cluster, answer func(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) bool) {
	kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		resp := produceResponse(req)
		if !answer(req, resp) {
			return nil, nil, false
		}
		return resp, nil, true
	})
}

// produceResponse returns the answer to req with its topics and no partitions.
func produceResponse(req *kmsg.ProduceRequest) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	resp.SetVersion(req.Version)
	for _, rt := range req.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// eachPartition calls fn with every partition of req and its answer, which
// it adds to resp.
func eachPartition(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse, fn func(rp *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition)) {
	for i, rt := range req.Topics {
		for j := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rt.Partitions[j].Partition
			fn(&rt.Partitions[j], &sp)
			resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, sp)
		}
	}
}

// TestProduceThrottled: the first produce answer of the leader asks the
// client to hold its next request for 300ms, with REQUEST_TIMED_OUT for the
// batch it answers. The rest is sent once the throttle ends and
// acknowledged, with either engine: only that batch fails, named.
func TestProduceThrottled(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		c := startEmbedded(t, 1)
		var answered atomic.Bool
		answerProduce(c.Kfake(), func(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) bool {
			if req.Acks != -1 || answered.Swap(true) {
				return false
			}
			resp.ThrottleMillis = 300
			eachPartition(req, resp, func(_ *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
				sp.ErrorCode = kerr.RequestTimedOut.Code
				sp.BaseOffset = -1
			})
			return true
		})
		rep := run(t, smallProfile(t, 1, 3, 1, func(p *profile.Profile) {
			p.Workload.Engine = engine
			p.Workload.Rate = 1000
		}), c)
		wantEngine(t, rep, engine)
		verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true, "metadata": true})
		d := rep.Delivery
		const reason = "REQUEST_TIMED_OUT (commit timeout: the leader did not hear from enough replicas for acks=all in time)"
		if d.Sent != int64(rep.Config.Messages) || d.Failed == 0 || d.Acked+d.Failed != d.Sent || d.FailedByError[reason] != d.Failed {
			t.Errorf("sent %d of %d, acked %d, failed %v; want all sent, and only the throttled batch failed, named", d.Sent, rep.Config.Messages, d.Acked, d.FailedByError)
		}
		if produce := section(t, rep, "produce"); produce.Error != "" {
			t.Errorf("produce: %s; want it to go on once the throttle ended", produce.Error)
		}
		if d.Consumed != d.Acked || d.Lost != 0 {
			t.Errorf("consumed %d, lost %d; want %d and 0", d.Consumed, d.Lost, d.Acked)
		}
	})
}

// TestProduceThrottledForever: the first produce answer of a leader asks
// the client to hold its next request for 24 days (throttle_time_ms at its
// largest), with REQUEST_TIMED_OUT for the batch it answers. Produce must
// end at its deadline naming what it waited for, never hang, with either
// engine; nothing is acknowledged that was not.
func TestProduceThrottledForever(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testProduceThrottledForever)
}

func testProduceThrottledForever(t *testing.T, engine string) {
	c := startEmbedded(t, 1)
	var answered atomic.Bool
	answerProduce(c.Kfake(), func(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) bool {
		if req.Acks != -1 || answered.Swap(true) {
			return false
		}
		resp.ThrottleMillis = math.MaxInt32
		eachPartition(req, resp, func(_ *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
			sp.ErrorCode = kerr.RequestTimedOut.Code
			sp.BaseOffset = -1
		})
		return true
	})
	rep := run(t, smallProfile(t, 1, 3, 1, func(p *profile.Profile) {
		p.Timeouts.Scenario.Duration = hangTimeout
		p.Workload.Engine = engine
		p.Workload.Rate = 300 // requests go on after the throttle's answer
	}), c)
	wantEngine(t, rep, engine)
	if !answered.Load() {
		t.Fatal("no produce request was answered with the throttle")
	}
	produce := section(t, rep, "produce")
	if produce.Passed {
		t.Errorf("produce passed; want it failed: a batch was answered REQUEST_TIMED_OUT")
	}
	d := rep.Delivery
	if d.Failed == 0 || d.Acked+d.Failed != d.Sent {
		t.Errorf("sent %d, acked %d, failed %d: want failures, and acked + failed = sent", d.Sent, d.Acked, d.Failed)
	}
	var byError int64
	for _, n := range d.FailedByError {
		byError += n
	}
	if byError != d.Failed {
		t.Errorf("failed_by_error %v sums to %d, want %d", d.FailedByError, byError, d.Failed)
	}
	if produce.DurationS > 2*hangTimeout.Seconds() {
		t.Errorf("produce took %.2fs, want its deadline %s and not much more", produce.DurationS, hangTimeout)
	}
}

// TestProduceOddAnswers: produce answers that no broker should give, each
// without a write. Whatever the engine, produce records exactly what they
// say, and a pass never follows: an error code beside a valid-looking
// offset is a failure by that name; offsets that overlap (every batch
// acknowledged at offset 0) or lie beyond the log are acknowledgements the
// log does not hold, which consume calls lost; a partition named twice
// counts once, as its last answer says; a partition not asked is ignored.
func TestProduceOddAnswers(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testProduceOddAnswers)
}

func testProduceOddAnswers(t *testing.T, engine string) {
	for _, tc := range []struct {
		name      string
		answer    func(rp *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition)
		extra     func(*kmsg.ProduceResponseTopic)
		reason    string // every message fails with it; "": every message is acknowledged, and lost
		lostCause string
	}{
		{name: "error code with an offset", answer: func(_ *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
			sp.ErrorCode, sp.BaseOffset = kerr.NotEnoughReplicas.Code, 5
		}, reason: "NOT_ENOUGH_REPLICAS (fewer in-sync replicas than min.insync.replicas)"},
		{name: "unsupported compression", answer: func(_ *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
			sp.ErrorCode, sp.BaseOffset = kerr.UnsupportedCompressionType.Code, -1
		}, reason: "UNSUPPORTED_COMPRESSION_TYPE"},
		{name: "every batch at offset 0", answer: func(_ *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
			sp.BaseOffset, sp.LogAppendTime, sp.LogStartOffset = 0, -7, 1<<40
		}},
		{name: "offsets beyond the log", answer: func(_ *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
			sp.BaseOffset = 1 << 40
		}},
		{name: "partition named twice, then a partition not asked", answer: func(_ *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
			sp.ErrorCode, sp.BaseOffset = kerr.NotLeaderForPartition.Code, -1
		}, extra: func(st *kmsg.ProduceResponseTopic) {
			for _, sp := range st.Partitions {
				again := sp
				again.ErrorCode, again.BaseOffset = 0, 100
				st.Partitions = append(st.Partitions, again)
			}
			other := kmsg.NewProduceResponseTopicPartition()
			other.Partition, other.ErrorCode, other.BaseOffset = 99, kerr.CorruptMessage.Code, -1
			st.Partitions = append(st.Partitions, other)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startEmbedded(t, 3)
			answerProduce(c.Kfake(), func(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) bool {
				if req.Acks != -1 {
					return false
				}
				eachPartition(req, resp, tc.answer)
				if tc.extra != nil {
					for i := range resp.Topics {
						tc.extra(&resp.Topics[i])
					}
				}
				return true
			})
			rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
				p.Workload.Engine = engine
				p.Workload.Compression = "gzip"
				withScenarios("topic-create", "produce", "consume")(p)
			}), c)
			wantEngine(t, rep, engine)
			d := rep.Delivery
			if d.Sent != int64(rep.Config.Messages) {
				t.Errorf("sent %d of %d", d.Sent, rep.Config.Messages)
			}
			if tc.reason != "" {
				verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true})
				if d.Acked != 0 || d.Failed != d.Sent || d.FailedByError[tc.reason] != d.Sent {
					t.Errorf("acked %d, failed %d, failed_by_error %v; want all %d failed under %q", d.Acked, d.Failed, d.FailedByError, d.Sent, tc.reason)
				}
				return
			}
			verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": false})
			if d.Acked != d.Sent || d.Lost != d.Acked || d.Consumed != 0 {
				t.Errorf("acked %d, lost %d, consumed %d; want all %d acked, and all lost: nothing was written", d.Acked, d.Lost, d.Consumed, d.Sent)
			}
		})
	}
}

// TestProduceConnectionClosed: the leader closes the connection on its
// third produce request, with more pipelined behind it. Whatever the engine,
// the requests in flight on that connection fail, named, within the run
// (not "no answer" at the deadline); nothing is acknowledged that was not
// written, nothing is reordered, and the rest goes on over a new
// connection.
func TestProduceConnectionClosed(t *testing.T) {
	t.Parallel()
	forEachEngine(t, testProduceConnectionClosed)
}

func testProduceConnectionClosed(t *testing.T, engine string) {
	c := startEmbedded(t, 1)
	kc := c.Kfake()
	var requests atomic.Int64
	kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		if kreq.(*kmsg.ProduceRequest).Acks != -1 || requests.Add(1) != 3 {
			return nil, nil, false
		}
		return nil, errors.New("connection closed by the test"), true
	})
	rep := run(t, smallProfile(t, 1, 3, 1, func(p *profile.Profile) {
		p.Workload.Engine = engine
		p.Workload.Messages = 20000
	}), c)
	wantEngine(t, rep, engine)
	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true, "metadata": true})
	d := rep.Delivery
	if d.Failed == 0 || d.Acked+d.Failed != d.Sent || d.Sent != int64(rep.Config.Messages) {
		t.Errorf("sent %d of %d, acked %d, failed %d: want some failed, and acked + failed = sent", d.Sent, rep.Config.Messages, d.Acked, d.Failed)
	}
	for reason := range d.FailedByError {
		if strings.HasPrefix(reason, "no answer") {
			t.Errorf("failed_by_error %v: the closed connection's requests are answered by its error, not at the deadline", d.FailedByError)
		}
		// The batch engine went on sending on the connection it had
		// closed until its next lookup: 17,632 of 20,000 messages failed
		// unsent. Then, reopening at once, the answers of the closed
		// connection's requests closed the new one, in a cascade that let
		// the broker write a later batch before an earlier one.
		// sarama's own producer, without retries, fails the messages it
		// had queued for a broker whose connection dropped as "not
		// connected" (named, never acknowledged): only the batch engine
		// is held to this.
		if engine == profile.EngineBatch && strings.Contains(reason, "not connected") {
			t.Errorf("failed_by_error %v: messages failed on a connection the producer had closed itself", d.FailedByError)
		}
	}
	if d.Lost != 0 || d.Consumed != d.Acked+d.UnackedRead {
		t.Errorf("lost %d, consumed %d, acked %d, unacked read %d: want nothing lost", d.Lost, d.Consumed, d.Acked, d.UnackedRead)
	}
	t.Logf("engine %s: %d requests; failed %v", engine, requests.Load(), d.FailedByError)
}

// TestProduceNotLeaderForAWhile: partition 1's leader, which the metadata
// keeps naming, answers its first 20 produce requests NOT_LEADER_OR_FOLLOWER
// without writing (a leader that has not yet heard it was elected). Those
// batches fail, named, with either engine; the rest reach the same leader
// and are acknowledged; consume reads every acknowledged message and
// nothing else.
func TestProduceNotLeaderForAWhile(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		c := startEmbedded(t, 3)
		var refused atomic.Int64
		answerProduce(c.Kfake(), func(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) bool {
			if req.Acks != -1 || !slices.ContainsFunc(req.Topics[0].Partitions, func(rp kmsg.ProduceRequestTopicPartition) bool { return rp.Partition == 1 }) || refused.Add(1) > 20 {
				return false
			}
			eachPartition(req, resp, func(_ *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
				sp.ErrorCode, sp.BaseOffset = kerr.NotLeaderForPartition.Code, -1
			})
			return true
		})
		rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
			p.Workload.Engine = engine
			p.Workload.Rate = 1000 // small batches: partition 1 has many requests
			withScenarios("topic-create", "produce", "consume")(p)
		}), c)
		wantEngine(t, rep, engine)
		verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true})
		d := rep.Delivery
		const reason = "NOT_LEADER_FOR_PARTITION"
		if d.Failed == 0 || d.FailedByError[reason] != d.Failed || d.Acked+d.Failed != d.Sent {
			t.Errorf("sent %d, acked %d, failed %v; want failures all under %q", d.Sent, d.Acked, d.FailedByError, reason)
		}
		onlyPartition(t, section(t, rep, "produce"), 1)
		if p := rep.Partitions[1]; p.Messages == 0 {
			t.Errorf("partition 1: nothing acknowledged; want the messages after the refusals acknowledged")
		}
		if d.Consumed != d.Acked || d.Lost != 0 || d.UnackedRead != 0 {
			t.Errorf("consumed %d, lost %d, unacked read %d; want %d, 0, 0", d.Consumed, d.Lost, d.UnackedRead, d.Acked)
		}
	})
}

// TestProduceOneLeaderSilent: broker 0, leader of partition 0, swallows
// every produce request. The other leaders' partitions are not held up by
// it, with either engine: their messages are acknowledged, partition 0's
// fail for want of an answer at the deadline, and the run ends there,
// saying how many messages it sent.
func TestProduceOneLeaderSilent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		c := startEmbedded(t, 3) // leaders 0, 1, 2
		kc := c.Kfake()
		kc.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
			kc.KeepControl()
			return nil, nil, kc.CurrentNode() == 0
		})
		rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
			p.Timeouts.Scenario.Duration = hangTimeout
			p.Workload.Engine = engine
			p.Workload.Messages = 6000
			withScenarios("topic-create", "produce", "consume")(p)
		}), c)
		wantEngine(t, rep, engine)
		d := rep.Delivery
		const reason = "no answer: the scenario deadline passed"
		// The batch engine keeps what partition 0's leader has no room for
		// unsent (the sarama engine holds it in its buffers, sent).
		if d.Sent == 0 || d.Acked+d.Failed != d.Sent || d.FailedByError[reason] != d.Failed || len(d.FailedByError) != 1 {
			t.Errorf("sent %d of %d, acked %d, failed %v; want failures only %q", d.Sent, rep.Config.Messages, d.Acked, d.FailedByError, reason)
		}
		wantError(t, section(t, rep, "produce"), fmt.Sprintf("of %d messages sent", rep.Config.Messages))
		produce := section(t, rep, "produce")
		onlyPartition(t, produce, 0)
		for _, p := range rep.Partitions[1:] {
			if p.Messages == 0 || p.HighWatermark != p.Messages {
				t.Errorf("partition %d: %d acknowledged, high watermark %d; want every message of it acknowledged", p.ID, p.Messages, p.HighWatermark)
			}
		}
		if rep.Partitions[1].Messages+rep.Partitions[2].Messages != d.Acked {
			t.Errorf("acked %d (partitions 1, 2: %d, %d): want only partitions 1 and 2 acknowledged", d.Acked, rep.Partitions[1].Messages, rep.Partitions[2].Messages)
		}
		checkEndsAtDeadline(t, produce)
	})
}

// TestProduceRefreshBehindHeldRequests: the first produce request is
// answered NOT_LEADER_FOR_PARTITION, so the engine looks its partitions'
// leaders up again; from then on the brokers answer neither produce nor
// metadata requests (a node that crashed while its peers hold every
// request, as spawn_crash.txtar stages). The batch sender is then held
// inside sarama's metadata refresh for its read timeout (45s); the produce
// scenario must still end soon after its deadline, with either engine.
func TestProduceRefreshBehindHeldRequests(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, engine string) {
		c := startEmbedded(t, 3)
		kc := c.Kfake()
		var refused atomic.Bool
		kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			kc.KeepControl()
			if refused.Swap(true) {
				return nil, nil, true // never answered
			}
			req := kreq.(*kmsg.ProduceRequest)
			resp := produceResponse(req)
			eachPartition(req, resp, func(_ *kmsg.ProduceRequestTopicPartition, sp *kmsg.ProduceResponseTopicPartition) {
				sp.ErrorCode, sp.BaseOffset = kerr.NotLeaderForPartition.Code, -1
			})
			return resp, nil, true
		})
		kc.ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
			kc.KeepControl()
			return nil, nil, refused.Load() // held once produce is refused
		})
		rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
			p.Workload.Engine = engine
			p.Timeouts.Scenario.Duration = hangTimeout
			withScenarios("topic-create", "produce")(p)
		}), c)
		verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false})
		// Closing its clients frees a sender held in sarama: well before
		// sarama's own read timeout would.
		if s := section(t, rep, "produce"); s.DurationS > hangTimeout.Seconds()+20 {
			t.Errorf("produce took %.1fs, want it to end soon after its deadline (%s)", s.DurationS, hangTimeout)
		}
		if d := rep.Delivery; d.Acked != 0 || d.Failed != d.Sent {
			t.Errorf("sent %d, acked %d, failed %d; want every message failed", d.Sent, d.Acked, d.Failed)
		}
	})
}
