package scenarios

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// startTestEngine starts an engine of kind producing n messages of acks=all
// to a new topic of partitions on c.
func startTestEngine(t *testing.T, ctx context.Context, c *cluster.Embedded, kind string, partitions, n int, edit func(*engineOptions)) (*engine, *verify.Ledger) {
	t.Helper()
	p := profile.Default()
	p.Topic.Partitions = partitions
	topic := fmt.Sprintf("engine-%s-%d", kind, time.Now().UnixNano())
	env, err := NewEnv(p, c, report.New("test", "test", time.Now()), topic, 0xe1, sarama.V3_6_0_0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	step := NewStep(&report.Scenario{Name: "test"})
	if err := createTopic(ctx, env, step, topic, &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	ledger := verify.NewLedger(n)
	o := engineOptions{
		topic: topic, mode: verify.Mode{Acks: "all"}, engine: kind, producers: 1, valueBytes: 64,
		runID: 0xe1, keys: workload.Keys(10), ledger: ledger,
	}
	if edit != nil {
		edit(&o)
	}
	e, err := startEngine(ctx, env, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e, ledger
}

// Answers that arrive after drain gave up on them (the scenario deadline
// passed: every message in flight was failed "no answer") are not recorded
// by either engine: the ledger, which the next scenario reads, keeps them
// failed, and the counts stay whole (failed by error = sent - acked). The
// broker holds every produce answer until drain has given up, then answers
// them all as written.
func TestLateAnswersAfterDrain(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{engineBatch, engineSarama} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			c, err := cluster.StartEmbedded(1)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			const n = 200
			kc := c.Kfake()
			held, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			kc.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
				kc.KeepControl()
				once.Do(func() { close(held) })
				kc.SleepControl(func() { <-release })
				return nil, nil, false // then written and answered as usual
			})
			e, ledger := startTestEngine(t, ctx, c, kind, 3, n, nil)
			<-held
			gaveUp, stop := context.WithCancel(ctx)
			stop()
			unanswered := e.drain(gaveUp)
			close(release)
			e.close()
			if unanswered == 0 {
				t.Fatal("drain gave up on no message: nothing was held")
			}
			st := e.stats()
			var acked int64
			for _, c := range st.perPartition {
				acked += c
			}
			var failed int64
			for _, c := range st.failedBy {
				failed += c
			}
			if failed != st.sent-acked {
				t.Errorf("sent %d, acked %d, failed by error %v (%d): want failed = sent - acked", st.sent, acked, st.failedBy, failed)
			}
			if got := st.failedBy["no answer: the run was interrupted"]; got != int64(unanswered) {
				t.Errorf("failed by error %v, want the %d drain gave up on under \"no answer: test\"", st.failedBy, unanswered)
			}
			counts := map[verify.State]int{}
			for seq := range n {
				counts[ledger.State(seq)]++
			}
			if counts[verify.Failed] != unanswered || int64(counts[verify.Acked]) != acked {
				t.Errorf("ledger %v: want the %d messages drain gave up on failed and %d acked", counts, unanswered, acked)
			}
		})
	}
}

// Partition 1 loses its leader mid-run: from then on its old leader
// answers NOT_LEADER_OR_FOLLOWER and the metadata names no leader, or a
// leader that is not among the brokers, for the rest of the run. Both
// engines fail partition 1's messages from then on, named, and finish (no
// hang): every message sent is answered, acknowledged or failed by name,
// and the lookups for the lost leader do not crowd out producing to the
// other partitions.
func TestProduceLeaderLostMidRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*kmsg.MetadataResponseTopicPartition)
	}{
		{"no leader", func(p *kmsg.MetadataResponseTopicPartition) {
			p.Leader, p.ErrorCode = -1, kerr.LeaderNotAvailable.Code
		}},
		{"a leader not among the brokers", func(p *kmsg.MetadataResponseTopicPartition) { p.Leader = 7 }},
	} {
		for _, kind := range []string{engineBatch, engineSarama} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				c, err := cluster.StartEmbedded(3)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				const n = 600
				e, _ := startTestEngine(t, ctx, c, kind, 3, n, func(o *engineOptions) { o.rate = 1000 })
				snap := metadataOf(t, ctx, c, e.o.topic)
				for i := range snap.Topics {
					for j := range snap.Topics[i].Partitions {
						if snap.Topics[i].Partitions[j].Partition == 1 {
							tc.edit(&snap.Topics[i].Partitions[j])
						}
					}
				}
				kc := c.Kfake()
				var metadata, produce atomic.Int64
				kc.ControlKey(int16(kmsg.Metadata), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
					kc.KeepControl()
					metadata.Add(1)
					resp := kreq.(*kmsg.MetadataRequest).ResponseKind().(*kmsg.MetadataResponse)
					resp.SetVersion(kreq.GetVersion())
					resp.Brokers, resp.ClusterID, resp.ControllerID, resp.Topics = snap.Brokers, snap.ClusterID, snap.ControllerID, snap.Topics
					return resp, nil, true
				})
				kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
					kc.KeepControl()
					produce.Add(1)
					req := kreq.(*kmsg.ProduceRequest)
					resp := req.ResponseKind().(*kmsg.ProduceResponse)
					resp.SetVersion(req.Version)
					lost := false
					for _, rt := range req.Topics {
						st := kmsg.NewProduceResponseTopic()
						st.Topic = rt.Topic
						for _, rp := range rt.Partitions {
							lost = lost || rp.Partition == 1
							sp := kmsg.NewProduceResponseTopicPartition()
							sp.Partition, sp.ErrorCode, sp.BaseOffset = rp.Partition, kerr.NotLeaderForPartition.Code, -1
							st.Partitions = append(st.Partitions, sp)
						}
						resp.Topics = append(resp.Topics, st)
					}
					return resp, nil, lost
				})
				select {
				case <-e.sendersDone():
				case <-ctx.Done():
					t.Fatal("the senders did not finish within a minute")
				}
				if left := e.drain(ctx); left != 0 {
					t.Fatalf("%d messages unanswered", left)
				}
				e.close()
				st := e.stats()
				var acked, failed int64
				for _, c := range st.perPartition {
					acked += c
				}
				for reason, c := range st.failedBy {
					failed += c
					if !strings.Contains(reason, "LEADER") && !strings.Contains(reason, "leader") {
						t.Errorf("%d failed with %q, want a reason naming the leader", c, reason)
					}
				}
				if st.sent != n || st.answered != n || acked+failed != n || failed == 0 {
					t.Errorf("sent %d, answered %d, acked %d %v, failed %v; want all %d answered, partition 1's later ones failed by name", st.sent, st.answered, acked, st.perPartition, st.failedBy, n)
				}
				// Looking for the lost leader must not crowd out producing
				// to the others (it held the batch engine's sender: 72
				// metadata requests to 28 produce requests, its rate 8 times
				// too slow).
				if m, pr := metadata.Load(), produce.Load(); m > pr {
					t.Errorf("%d metadata requests, %d produce requests: the lookups crowd out producing", m, pr)
				}
				t.Logf("acked %v, failed %v; %d metadata requests, %d produce requests, last answer at %s", st.perPartition, st.failedBy, metadata.Load(), produce.Load(), st.last)
			})
		}
	}
}

// metadataOf is the cluster's metadata answer for topic, read by a client.
func metadataOf(t *testing.T, ctx context.Context, c *cluster.Embedded, topic string) *kmsg.MetadataResponse {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
