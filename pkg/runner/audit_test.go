package runner_test

// Tests of the final audit and of loss causes, against brokers that
// misbehave in ways the first read cannot see: a log start that moves while
// the reader reads, records that land after the end offsets were taken, an
// end offset that goes back, and a ListOffsets that hides acknowledged
// records the broker still serves to Fetch.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

// readScenarios runs produce, the test hook, consume and metadata.
var readScenarios = withScenarios("topic-create", "produce", hookName, "consume", "metadata")

// endOffsets lists the end offsets of the run's topic with a second client.
func endOffsets(ctx context.Context, env *scenarios.Env) (map[int32]int64, error) {
	cl, err := secondClient(env)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, env.Topic)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}

// latestCounter counts, per partition, the ListOffsets requests for the
// latest offset that a cluster has seen since it was installed, and calls
// on (from the cluster's goroutine: it must not call back into the cluster)
// with each partition and its count. The first two per partition are the
// consume scenario's own: the consumer choosing its start, and the end
// offsets it reads to, in either order; the final audit's come after.
type latestCounter struct {
	mu sync.Mutex
	n  map[int32]int
}

func countLatest(kc *kfake.Cluster, answer func(p int32, n int) (offset int64, ok bool), on func(p int32, n int)) {
	lc := &latestCounter{n: map[int32]int{}}
	kc.ControlKey(int16(kmsg.ListOffsets), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		req := kreq.(*kmsg.ListOffsetsRequest)
		resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
		resp.SetVersion(req.Version)
		answered := true
		for _, rt := range req.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewListOffsetsResponseTopicPartition()
				sp.Partition, sp.Timestamp, sp.LeaderEpoch = rp.Partition, -1, -1
				if rp.Timestamp != -1 { // not "latest"
					answered = false
					continue
				}
				lc.mu.Lock()
				lc.n[rp.Partition]++
				n := lc.n[rp.Partition]
				lc.mu.Unlock()
				if on != nil {
					on(rp.Partition, n)
				}
				off, ok := int64(0), false
				if answer != nil {
					off, ok = answer(rp.Partition, n)
				}
				answered = answered && ok
				sp.Offset, sp.OldStyleOffsets = off, []int64{off}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		if !answered {
			return nil, nil, false // kfake answers it
		}
		return resp, nil, true
	})
}

// TestLogStartMovesDuringRead: the log start of partition 0 moves past the
// reader's position after it chose where to start and before its first
// fetch is answered (records deleted under the reader). sarama closes the
// partition consumer (OFFSET_OUT_OF_RANGE); the runner must not crash, must
// go on from the new log start, and must call what it could not read lost,
// below log start, naming how the log start moved.
func TestLogStartMovesDuringRead(t *testing.T) {
	t.Parallel()
	const cut = 25
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		var once sync.Once
		topic := env.Topic
		kc.ControlKey(int16(kmsg.Fetch), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			kc.KeepControl()
			for _, rt := range kreq.(*kmsg.FetchRequest).Topics {
				for _, rp := range rt.Partitions {
					if rp.Partition == 0 && rp.FetchOffset < cut {
						once.Do(func() { kc.SleepControl(func() { _ = kc.DeleteRecords(topic, 0, cut) }) })
					}
				}
			}
			return nil, nil, false
		})
		return nil
	})
	rep := run(t, smallProfile(t, 3, 3, 3, readScenarios), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
	d := rep.Delivery
	if d.Lost != cut || d.LostByCause[verify.CauseBelowLogStart] != cut || d.Consumed != d.Acked-cut {
		t.Errorf("lost %d (%v), consumed %d of %d acked; want %d lost below log start and the rest read", d.Lost, d.LostByCause, d.Consumed, d.Acked, cut)
	}
	consume := section(t, rep, "consume")
	wantFinding(t, consume, fmt.Sprintf("lost: partition 0: %d below log start (offsets 0-%d): ", cut, cut-1),
		fmt.Sprintf("the log start moved from at most 0 to %d while the partition was read", cut))
	if rep.Audit == nil || rep.Audit.Partitions[0].LogStart != cut {
		t.Errorf("audit = %+v, want partition 0's log start %d", rep.Audit, cut)
	}
}

// TestLogStartMovedBeforeRead: records deleted before consume began are
// lost, below log start, with the final log start named.
func TestLogStartMovedBeforeRead(t *testing.T) {
	t.Parallel()
	const cut = 10
	c := startEmbedded(t, 3)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		return c.Kfake().DeleteRecords(env.Topic, 1, cut)
	})
	rep := run(t, smallProfile(t, 3, 3, 3, readScenarios), c)
	if d := rep.Delivery; d.Lost != cut || d.LostByCause[verify.CauseBelowLogStart] != cut {
		t.Errorf("lost %d by cause %v; want %d below log start", d.Lost, d.LostByCause, cut)
	}
	wantFinding(t, section(t, rep, "consume"), fmt.Sprintf("lost: partition 1: %d below log start (offsets 0-%d): the log starts at %d: deleted or truncated", cut, cut-1, cut))
}

// TestLateRecords: records land on partition 0 after the consume scenario
// took its end offsets (a delayed write committed late, another writer): the
// final audit must read them and name them late. A late copy of the run's
// own record is a duplicate and fails; a late foreign record is unexpected
// and fails.
func TestLateRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, finding string
		records       func(ctx context.Context, env *scenarios.Env) ([]*kgo.Record, error)
		check         func(t *testing.T, d struct{ dup, unexpected int64 })
	}{
		{"duplicates", "duplicated: late: appeared after producing stopped: sequence ",
			func(ctx context.Context, env *scenarios.Env) ([]*kgo.Record, error) {
				return readCopies(ctx, env, 0, 3)
			},
			func(t *testing.T, d struct{ dup, unexpected int64 }) {
				if d.dup != 3 || d.unexpected != 0 {
					t.Errorf("duplicated %d, unexpected %d; want 3, 0", d.dup, d.unexpected)
				}
			}},
		{"foreign", "unexpected: late: appeared after producing stopped: partition 0 offset ",
			func(ctx context.Context, env *scenarios.Env) ([]*kgo.Record, error) {
				r := payload(env.RunID^1, 1, 1)
				r.Partition = 0
				return []*kgo.Record{r, {Partition: 0, Key: []byte("x"), Value: []byte("not ours")}}, nil
			},
			func(t *testing.T, d struct{ dup, unexpected int64 }) {
				if d.dup != 0 || d.unexpected != 2 {
					t.Errorf("duplicated %d, unexpected %d; want 0, 2", d.dup, d.unexpected)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startEmbedded(t, 3)
			kc := c.Kfake()
			onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
				recs, err := tc.records(ctx, env)
				if err != nil {
					return err
				}
				var once sync.Once
				countLatest(kc, nil, func(p int32, n int) {
					if p == 0 && n == 2 { // the consume scenario has its end offsets
						once.Do(func() {
							go func() { // over the network, not into the cluster
								ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
								defer cancel()
								if err := writeBehind(ctx, env, recs...); err != nil {
									t.Errorf("write late records: %v", err)
								}
							}()
						})
					}
				})
				return nil
			})
			rep := run(t, smallProfile(t, 3, 3, 3, readScenarios), c)

			verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
			tc.check(t, struct{ dup, unexpected int64 }{rep.Delivery.Duplicated, rep.Delivery.Unexpected})
			wantFinding(t, section(t, rep, "consume"), tc.finding)
			if rep.Audit == nil || rep.Audit.LateRecords == 0 || rep.Delivery.Lost != 0 {
				t.Errorf("audit %+v, lost %d: want late records and nothing lost", rep.Audit, rep.Delivery.Lost)
			}
		})
	}
}

// TestAcksZeroWritesLandLate: with acks=0 the producer is told nothing, so
// produce ends while partition 2's writes are still on their way (held back
// here until consume has its end offsets, as a busy broker would). The final
// audit must read them: no message may be reported as not read back.
func TestAcksZeroWritesLandLate(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	released := make(chan struct{})
	var release sync.Once
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		countLatest(kc, nil, func(p int32, n int) {
			if p == 2 && n == 2 {
				release.Do(func() { close(released) })
			}
		})
		return nil
	})
	// Hold back every produce request for partition 2 until released; the
	// connection's later requests queue behind the first.
	kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		for _, rt := range kreq.(*kmsg.ProduceRequest).Topics {
			for _, rp := range rt.Partitions {
				if rp.Partition == 2 && !closed(released) {
					kc.SleepControl(func() { <-released })
				}
			}
		}
		return nil, nil, false
	})
	t.Cleanup(func() { release.Do(func() { close(released) }) })
	rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
		readScenarios(p)
		p.Workload.Acks = "0"
	}), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": true, "metadata": true})
	consume := section(t, rep, "consume")
	if got := notesWith(consume, "were not read back"); len(got) > 0 {
		t.Errorf("false loss: %q", got)
	}
	if d := rep.Delivery; d.Consumed != d.Sent || rep.Audit.LateRecords == 0 {
		t.Errorf("consumed %d of %d sent, %d late; want every message read, some late", d.Consumed, d.Sent, rep.Audit.LateRecords)
	}
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestEndOffsetGoesBack: partition 1's end offset, listed again by the final
// audit, is lower than the one consume read to: the records it had exposed
// are gone from its end, and the run fails naming both offsets.
func TestEndOffsetGoesBack(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		ends, err := endOffsets(ctx, env)
		if err != nil {
			return err
		}
		countLatest(c.Kfake(), func(p int32, n int) (int64, bool) {
			if p == 1 && n > 2 {
				return ends[p] - 5, true
			}
			return ends[p], true
		}, nil)
		return nil
	})
	rep := run(t, smallProfile(t, 3, 3, 3, readScenarios), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
	hwm := rep.Partitions[1].Messages
	wantFinding(t, section(t, rep, "consume"), fmt.Sprintf("partition 1: high watermark went back from %d to %d", hwm, hwm-5))
}

// TestListOffsetsHidesAckedRecords: a broker acknowledged partition 0's
// records but answers ListOffsets(latest) with 0, while Fetch still returns
// them. The verdict is loss, and its cause must say why: above the high
// watermark, and the records are there when fetched past it.
func TestListOffsetsHidesAckedRecords(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		ends, err := endOffsets(ctx, env)
		if err != nil {
			return err
		}
		countLatest(c.Kfake(), func(p int32, _ int) (int64, bool) {
			if p == 0 {
				return 0, true
			}
			return ends[p], true
		}, nil)
		return nil
	})
	rep := run(t, smallProfile(t, 3, 3, 3, readScenarios), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
	acked := rep.Partitions[0].Messages
	d := rep.Delivery
	if d.Lost != acked || d.LostByCause[verify.CauseAboveHighWatermark] != acked {
		t.Errorf("lost %d by cause %v; want all %d of partition 0 above the high watermark", d.Lost, d.LostByCause, acked)
	}
	consume := section(t, rep, "consume")
	wantFinding(t, consume, fmt.Sprintf("lost: partition 0: %d above the high watermark (offsets 0-%d): the high watermark is 0", acked, acked-1),
		fmt.Sprintf("fetching offsets 0..%d past it returned %d of this run's records (the records are stored; the high watermark is wrong)", acked-1, acked))
	if len(d.Losses) != 1 || !strings.Contains(d.Losses[0].Detail, "the broker acknowledged offsets it does not expose") {
		t.Errorf("losses = %+v", d.Losses)
	}
}

// TestTopicNeverSettles: another writer keeps appending to partition 0 after
// consume took its end offsets. The audit must not wait forever for a quiet
// topic: it fails saying the topic did not settle, reads what was there, and
// names the foreign records late.
func TestTopicNeverSettles(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	stop := make(chan struct{})
	var stopOnce sync.Once
	t.Cleanup(func() { stopOnce.Do(func() { close(stop) }) })
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		var once sync.Once
		countLatest(c.Kfake(), nil, func(p int32, n int) {
			if p != 0 || n != 2 {
				return
			}
			once.Do(func() {
				wg.Add(1)
				go func() { // over the network, not into the cluster
					defer wg.Done()
					cl, err := secondClient(env)
					if err != nil {
						t.Errorf("second client: %v", err)
						return
					}
					defer cl.Close()
					tick := time.NewTicker(20 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						_ = cl.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte("still writing")}).FirstErr()
						cancel()
					}
				}()
			})
		})
		return nil
	})
	rep := run(t, smallProfile(t, 3, 3, 3, readScenarios), c)
	stopOnce.Do(func() { close(stop) })

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
	consume := section(t, rep, "consume")
	wantFinding(t, consume, "final audit: the topic did not settle: its end offsets were still moving", "partition 0 ")
	wantFinding(t, consume, "unexpected: late: appeared after producing stopped: partition 0 offset ")
	if rep.Audit == nil || rep.Audit.Settled || rep.Delivery.Lost != 0 {
		t.Errorf("audit %+v, lost %d: want an unsettled audit and nothing lost", rep.Audit, rep.Delivery.Lost)
	}
}

// TestReplicaReadsOnEmbedded: kfake serves fetches from leaders only, so
// consume's reads through every replica say so, and nothing fails.
func TestReplicaReadsOnEmbedded(t *testing.T) {
	t.Parallel()
	rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) { p.Workload.ReplicaReads = true }), startEmbedded(t, 3))
	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": true, "metadata": true})
	if got := notesWith(section(t, rep, "consume"), "reads through every replica after consuming: node(s) ", "do not serve fetches from followers"); len(got) != 1 {
		t.Errorf("consume notes %q: want one saying the reads came from leaders only", section(t, rep, "consume").Notes)
	}
}

// TestListOffsetsHidesLogStart: ListOffsets answers partition 0's log start
// as 10 while nothing was deleted and Fetch still serves offsets 0..9 (one
// API lying, the other telling the truth). The ten records are never read:
// lost, below log start, and the cause must say the records are stored and
// the listed log start is wrong, not "deleted or truncated".
func TestListOffsetsHidesLogStart(t *testing.T) {
	t.Parallel()
	const hidden = 10
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		kc.ControlKey(int16(kmsg.ListOffsets), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			kc.KeepControl()
			req := kreq.(*kmsg.ListOffsetsRequest)
			for _, rt := range req.Topics {
				for _, rp := range rt.Partitions {
					if rp.Partition == 0 && rp.Timestamp == -2 { // earliest
						return earliestAnswer(req, hidden), nil, true
					}
				}
			}
			return nil, nil, false
		})
		return nil
	})
	rep := run(t, smallProfile(t, 3, 3, 3, readScenarios), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, hookName: true, "consume": false, "metadata": true})
	if d := rep.Delivery; d.Lost != hidden || d.LostByCause[verify.CauseBelowLogStart] != hidden {
		t.Errorf("lost %d by cause %v; want %d below log start", d.Lost, d.LostByCause, hidden)
	}
	wantFinding(t, section(t, rep, "consume"), fmt.Sprintf("lost: partition 0: %d below log start (offsets 0-%d): the log start offset is listed as %d, but fetching offsets 0..%d below it returned %d of this run's records (the records are stored; the log start offset is wrong)",
		hidden, hidden-1, hidden, hidden-1, hidden))
}

// earliestAnswer answers a ListOffsets request that asks only for earliest
// offsets with offset for partition 0 and 0 for every other partition.
func earliestAnswer(req *kmsg.ListOffsetsRequest, offset int64) *kmsg.ListOffsetsResponse {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.SetVersion(req.Version)
	for _, rt := range req.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition, sp.Timestamp, sp.LeaderEpoch = rp.Partition, -1, -1
			if rp.Partition == 0 {
				sp.Offset = offset
			}
			sp.OldStyleOffsets = []int64{sp.Offset}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}
