package runner_test

import (
	"math"
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
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		resp.SetVersion(req.Version)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			resp.Topics = append(resp.Topics, st)
		}
		if !answer(req, resp) {
			return nil, nil, false
		}
		return resp, nil, true
	})
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
