package cluster

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// startTest starts a durable embedded cluster of n brokers, closed with the test.
func startTest(t *testing.T, n int) *Embedded {
	t.Helper()
	e, err := StartEmbeddedDurable(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func client(t *testing.T, e *Embedded) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Bootstrap()...), kgo.MaxVersions(kversion.V3_6_0()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RetryTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func node(e *Embedded, id int32) Node { return Node{ID: id, Addr: e.Bootstrap()[id]} }

func do(t *testing.T, e *Embedded, op Op, id int32) string {
	t.Helper()
	out, err := e.Do(testCtx(t), op, node(e, id))
	if err != nil {
		t.Fatalf("%s node %d: %v", op, id, err)
	}
	return out
}

// createTopic creates topic with partitions partitions of replication factor 3.
func createTopic(t *testing.T, cl *kgo.Client, topic string, partitions int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 3
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	if code := resp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("create topic %s: error %d", topic, code)
	}
}

// leaders returns topic's partition leaders and the brokers metadata lists.
func leaders(t *testing.T, cl *kgo.Client, topic string) (leaders []int32, brokers []int32) {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	for _, b := range resp.Brokers {
		brokers = append(brokers, b.NodeID)
	}
	slices.Sort(brokers)
	ps := resp.Topics[0].Partitions
	leaders = make([]int32, len(ps))
	for _, p := range ps {
		leaders[p.Partition] = p.Leader
	}
	return leaders, brokers
}

// TestEmbeddedKillCutsConnections: a killed broker refuses new connections
// and closes the ones clients had, as a dead process does; kfake's
// RemoveNode alone closes only the listener.
func TestEmbeddedKillCutsConnections(t *testing.T) {
	e := startTest(t, 3)
	conn, err := net.Dial("tcp", e.Bootstrap()[1])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	do(t, e, OpKill, 1)

	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		// EOF when the broker had accepted the connection, a reset when it
		// was still in the listener's queue: either way, closed.
		t.Errorf("read on a connection to the killed broker: %v, want it closed by the broker", err)
	}
	if c, err := net.DialTimeout("tcp", e.Bootstrap()[1], 5*time.Second); err == nil {
		c.Close()
		t.Errorf("the killed broker accepted a new connection")
	}
}

// TestEmbeddedElections: killing a broker moves each of its partitions to
// the next broker up; starting it gives them back; metadata lists only the
// brokers up.
func TestEmbeddedElections(t *testing.T) {
	for _, op := range []Op{OpKill, OpStop} {
		t.Run(string(op), func(t *testing.T) {
			e := startTest(t, 3)
			cl := client(t, e)
			createTopic(t, cl, "t", 6)
			if got, _ := leaders(t, cl, "t"); !slices.Equal(got, []int32{0, 1, 2, 0, 1, 2}) {
				t.Fatalf("leaders after create = %v, want round-robin", got)
			}
			do(t, e, op, 1)
			got, brokers := leaders(t, cl, "t")
			if want := []int32{0, 2, 2, 0, 2, 2}; !slices.Equal(got, want) {
				t.Errorf("leaders after %s of node 1 = %v, want %v", op, got, want)
			}
			if !slices.Equal(brokers, []int32{0, 2}) {
				t.Errorf("brokers after %s of node 1 = %v, want [0 2]", op, brokers)
			}
			do(t, e, OpStart, 1)
			got, brokers = leaders(t, cl, "t")
			if want := []int32{0, 1, 2, 0, 1, 2}; !slices.Equal(got, want) {
				t.Errorf("leaders after restart of node 1 = %v, want %v", got, want)
			}
			if !slices.Equal(brokers, []int32{0, 1, 2}) {
				t.Errorf("brokers after restart = %v, want [0 1 2]", brokers)
			}
		})
	}
}

// TestEmbeddedWholeClusterRestart: records written before every node went
// down are there after they all start again, and the restarted controller
// can create topics.
func TestEmbeddedWholeClusterRestart(t *testing.T) {
	e := startTest(t, 3)
	cl := client(t, e)
	createTopic(t, cl, "t", 3)
	ctx := testCtx(t)
	var recs []*kgo.Record
	for i := range 30 {
		recs = append(recs, &kgo.Record{Topic: "t", Partition: int32(i % 3), Value: []byte{byte(i)}})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for id := range int32(3) {
		do(t, e, OpKill, id)
	}
	if e.Kfake() != nil {
		t.Fatal("every node is down, but the kfake cluster still runs")
	}
	for _, id := range []int32{2, 0, 1} {
		do(t, e, OpStart, id)
	}

	rd, err := kgo.NewClient(kgo.SeedBrokers(e.Bootstrap()...), kgo.MaxVersions(kversion.V3_6_0()),
		kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	n := 0
	for n < 30 {
		fs := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of 30 records after the restart", n)
		}
		n += len(fs.Records())
	}
	if got, _ := leaders(t, cl, "t"); !slices.Equal(got, []int32{0, 1, 2}) {
		t.Errorf("leaders after the restart = %v, want round-robin", got)
	}

	// Node 2 is kfake's controller: it restarts the cluster when started alone too.
	do(t, e, OpKill, 2)
	if out := do(t, e, OpStart, 2); !containsText(out, "controller") {
		t.Errorf("start of the controller node says %q, want why the cluster restarted", out)
	}
	createTopic(t, cl, "after", 3)
}

// TestEmbeddedPause: a paused broker answers nothing until resumed.
func TestEmbeddedPause(t *testing.T) {
	e := startTest(t, 3)
	cl := client(t, e)
	do(t, e, OpPause, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl.Broker(0)); err == nil {
		t.Fatal("a paused broker answered a metadata request")
	}
	do(t, e, OpResume, 0)
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(testCtx(t), cl.Broker(0)); err != nil {
		t.Fatalf("metadata after resume: %v", err)
	}
}

// TestEmbeddedBadOps: operations that make no sense are errors, not no-ops.
func TestEmbeddedBadOps(t *testing.T) {
	e := startTest(t, 2)
	ctx := testCtx(t)
	for _, tc := range []struct {
		op   Op
		id   int32
		want string
	}{
		{OpStart, 0, "it is not down"},
		{OpKill, 7, "the embedded cluster has nodes [0 1]"},
	} {
		if _, err := e.Do(ctx, tc.op, Node{ID: tc.id}); err == nil || !containsText(err.Error(), tc.want) {
			t.Errorf("%s node %d: error %v, want %q", tc.op, tc.id, err, tc.want)
		}
	}
	do(t, e, OpKill, 0)
	if _, err := e.Do(ctx, OpKill, node(e, 0)); err == nil || !containsText(err.Error(), "already down") {
		t.Errorf("second kill: %v, want already down", err)
	}
}

// TestEmbeddedInMemoryRefusesRestarts: a cluster with its data in memory
// refuses to take down what only a whole-cluster restart brings back,
// rather than lose the data.
func TestEmbeddedInMemoryRefusesRestarts(t *testing.T) {
	e, err := StartEmbedded(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	ctx := testCtx(t)
	if _, err := e.Do(ctx, OpKill, node(e, 1)); err == nil || !containsText(err.Error(), "kfake's controller") {
		t.Errorf("kill of the controller: %v, want refused", err)
	}
	do(t, e, OpKill, 0)
	do(t, e, OpStart, 0)
	do(t, e, OpStop, 0)
	if _, err := e.Do(ctx, OpStop, node(e, 1)); err == nil || !containsText(err.Error(), "the last node up") {
		t.Errorf("stop of the last node: %v, want refused", err)
	}
}

func containsText(s, sub string) bool { return strings.Contains(s, sub) }
