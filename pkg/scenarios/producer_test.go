package scenarios

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
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
