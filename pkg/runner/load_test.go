package runner_test

// Tests of the workload's load settings: several producers, a target rate,
// and consuming while producing. A pass must still never lie: the same
// misbehaving clusters are caught with these settings as without them.

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// load returns a profile edit that sets the load settings.
func load(producers, rate int, concurrent bool) func(*profile.Profile) {
	return func(p *profile.Profile) {
		p.Workload.Producers, p.Workload.Rate, p.Workload.ConcurrentConsume = producers, rate, concurrent
	}
}

// TestLoadSettingsHealthy: on a healthy cluster every load setting passes
// with every message accounted for.
func TestLoadSettingsHealthy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		producers  int
		rate       int
		concurrent bool
		acks       string
	}{
		{"4 producers", 4, 0, false, "all"},
		{"consume while producing", 1, 0, true, "all"},
		{"3 producers consume while producing acks 1", 3, 0, true, "1"},
		{"rate", 2, 3000, false, "all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
				load(tc.producers, tc.rate, tc.concurrent)(p)
				p.Workload.Acks = tc.acks
			})
			rep := run(t, p, startEmbedded(t, 3))
			verdicts(t, rep, defaultScenarios)
			checkDelivered(t, rep.Delivery.Sent, rep.Delivery.Acked, rep.Delivery.Consumed, rep.Config.Messages)
			if d := rep.Delivery; d.Failed+d.Lost+d.Duplicated+d.Reordered+d.Unexpected+d.Misplaced+d.UnackedRead != 0 {
				t.Errorf("delivery = %+v, want every message acked and read once", d)
			}
			if c := rep.Config; c.Producers != tc.producers || c.Rate != tc.rate || c.ConcurrentConsume != tc.concurrent {
				t.Errorf("report config %+v does not show the load settings", c)
			}
			produce := section(t, rep, "produce")
			if tc.producers > 1 && produce.Metrics["producers"] != float64(tc.producers) {
				t.Errorf("produce metrics %v, want producers %d", produce.Metrics, tc.producers)
			}
			switch {
			case tc.concurrent && (rep.EndToEnd == nil || rep.EndToEnd.Max <= 0 || rep.EndToEnd.P50 > rep.EndToEnd.Max):
				t.Errorf("end-to-end latency %+v, want percentiles of every message read while producing", rep.EndToEnd)
			case !tc.concurrent && rep.EndToEnd != nil:
				t.Errorf("end-to-end latency %+v without consuming while producing", rep.EndToEnd)
			}
			if tc.rate > 0 {
				// Sending at the rate takes at least this long however fast the
				// machine; a lower bound cannot fail on a slow one.
				least := time.Duration(float64(rep.Config.Messages-1) / float64(tc.rate) * float64(time.Second))
				if got := time.Duration(rep.Throughput.ProduceDurationS * float64(time.Second)); got < least {
					t.Errorf("produced %d messages at rate %d in %s, want at least %s", rep.Config.Messages, tc.rate, got, least)
				}
				if len(notesWith(produce, "scheduled send time")) == 0 {
					t.Errorf("produce notes %q, want one on latency from the scheduled send time", produce.Notes)
				}
			}
		})
	}
}

// checkDelivered fails the test unless every message was sent, acked and read.
func checkDelivered(t *testing.T, sent, acked, consumed int64, messages int) {
	t.Helper()
	if m := int64(messages); sent != m || acked != m || consumed != m {
		t.Errorf("sent %d, acked %d, consumed %d; want all %d", sent, acked, consumed, messages)
	}
}

// TestConcurrentConsumeFindsBadRecords: with consuming while producing, the
// records a second client writes after produce (copies of the run's own, and
// foreign ones) are still read and called duplicated and unexpected.
func TestConcurrentConsumeFindsBadRecords(t *testing.T) {
	t.Parallel()
	const dups, foreign = 4, 2
	c := startEmbedded(t, 3)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		again, err := readCopies(ctx, env, 1, dups)
		if err != nil {
			return err
		}
		for i := range foreign {
			r := payload(env.RunID^0xF0, uint64(i), uint32(i))
			r.Partition = 2
			again = append(again, r)
		}
		return writeBehind(ctx, env, again...)
	})
	p := smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
		load(2, 0, true)(p)
		p.Scenarios = []string{"topic-create", "produce", hookName, "consume", "metadata"}
	})
	rep := run(t, p, c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
	d := rep.Delivery
	if d.Duplicated != dups || d.Unexpected != foreign || d.Consumed != d.Acked+dups {
		t.Errorf("duplicated %d, unexpected %d, consumed %d of %d acked; want %d duplicated, %d unexpected", d.Duplicated, d.Unexpected, d.Consumed, d.Acked, dups, foreign)
	}
	if d.Lost+d.Reordered+d.Misplaced+d.UnackedRead != 0 {
		t.Errorf("delivery = %+v, want only duplicated and unexpected records", d)
	}
	consume := section(t, rep, "consume")
	wantFinding(t, consume, fmt.Sprintf("%d duplicated record(s)", dups))
	wantFinding(t, consume, fmt.Sprintf("%d unexpected record(s)", foreign))
	wantFinding(t, consume, "unexpected: partition 2 offset ", "payload of another run")
}

// misplaceFirstBatch makes the leader of partition 0 write the first produce
// batch for it where it belongs but acknowledge it one offset too high, after
// holding the answer for delay: the broker's answer and its log disagree. It
// returns the number of records of that batch, known once it was written.
func misplaceFirstBatch(t *testing.T, c *cluster.Embedded, delay time.Duration) *atomic.Int32 {
	t.Helper()
	kc := c.Kfake()
	fwd, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.MaxVersions(kversion.V3_6_0()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fwd.Close)
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), fwd); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	var n atomic.Int32
	var done atomic.Bool
	kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		// The runner produces with acks=all; the forwarded copy below
		// (acks=1) and every later batch pass through.
		if req.Acks != -1 || done.Load() || !slices.ContainsFunc(req.Topics, func(rt kmsg.ProduceRequestTopic) bool {
			return slices.ContainsFunc(rt.Partitions, func(rp kmsg.ProduceRequestTopicPartition) bool { return rp.Partition == 0 })
		}) {
			return nil, nil, false
		}
		done.Store(true)
		node := kc.CurrentNode()
		var resp kmsg.Response
		kc.SleepControl(func() {
			fr := *req
			fr.Acks = 1
			resp, err = fwd.Broker(int(node)).Request(context.Background(), &fr)
			time.Sleep(delay) // written, not yet acknowledged: a concurrent reader gets to it first
		})
		if err != nil {
			return nil, fmt.Errorf("forward produce: %w", err), true
		}
		pr := resp.(*kmsg.ProduceResponse)
		pr.SetVersion(req.Version)
		for i := range pr.Topics {
			for j := range pr.Topics[i].Partitions {
				if sp := &pr.Topics[i].Partitions[j]; sp.Partition == 0 && sp.ErrorCode == 0 {
					sp.BaseOffset++
				}
			}
		}
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				var batch kmsg.RecordBatch
				if rp.Partition == 0 && batch.ReadFrom(rp.Records) == nil {
					n.Store(batch.NumRecords)
				}
			}
		}
		return pr, nil, true
	})
	return &n
}

// TestMisplacedRecords: records acknowledged at another offset than the one
// they were written at are misplaced, whether they are read after their
// acknowledgement (consume after produce) or before it (consuming while
// producing: the answer is held long enough for the reader to get there
// first; either order must give the same verdict).
func TestMisplacedRecords(t *testing.T) {
	t.Parallel()
	for _, concurrent := range []bool{false, true} {
		t.Run(fmt.Sprintf("concurrent=%v", concurrent), func(t *testing.T) {
			t.Parallel()
			c := startEmbedded(t, 3)
			delay := time.Duration(0)
			if concurrent {
				delay = time.Second
			}
			batch := misplaceFirstBatch(t, c, delay)
			rep := run(t, smallProfile(t, 3, 3, 3, load(1, 0, concurrent)), c)

			verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": false, "metadata": true})
			n := int64(batch.Load())
			d := rep.Delivery
			if n == 0 || d.Misplaced != n {
				t.Errorf("misplaced %d, want %d (the first batch of partition 0)", d.Misplaced, n)
			}
			if d.Lost+d.Duplicated+d.Reordered+d.Unexpected+d.UnackedRead != 0 || d.Consumed != d.Acked {
				t.Errorf("delivery = %+v, want only misplaced records, every acked record read once", d)
			}
			consume := section(t, rep, "consume")
			wantFinding(t, consume, fmt.Sprintf("%d misplaced record(s)", n))
			wantFinding(t, consume, "misplaced: sequence ", "acknowledged at partition 0 offset ", "but read elsewhere")
		})
	}
}

// TestProducersOffsetMinusOne: with several producers, every message of a
// batch answered with offset -1 still fails, however the producers share the
// partitions.
func TestProducersOffsetMinusOne(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	answerMinusOne(c.Kfake(), func(p int32) bool { return p == 1 })
	rep := run(t, smallProfile(t, 3, 3, 3, load(3, 0, false)), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": false, "consume": true, "metadata": true})
	d := rep.Delivery
	bad := d.Sent - rep.Partitions[0].Messages - rep.Partitions[2].Messages
	if rep.Partitions[1].Messages != 0 || d.Failed == 0 || d.Failed != bad || d.Acked+d.Failed != d.Sent {
		t.Errorf("partition 1 acked %d, failed %d of %d sent; want none acked on partition 1 and all %d of its messages failed", rep.Partitions[1].Messages, d.Failed, d.Sent, bad)
	}
	if d.Consumed != d.Acked || d.Lost+d.UnackedRead != 0 {
		t.Errorf("consumed %d of %d acked, lost %d, unacked read %d; want every acked message read, nothing else", d.Consumed, d.Acked, d.Lost, d.UnackedRead)
	}
}
