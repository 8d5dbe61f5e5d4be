package testbroker

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// replicationCluster starts a 3-broker backend in mode with a node
// registered for each broker at its front's own address (so that clients
// reach the fronts directly), and returns it, a client and how to kill
// each node.
func replicationCluster(t *testing.T, mode Replication) (*Backend, *kgo.Client, []func()) {
	t.Helper()
	b, err := StartBackend(3, WithReplication(mode))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	ends := make([]func(), 3)
	var addrs []string
	for i := range 3 {
		addr := b.repl.front[i].ln.Addr().String()
		addrs = append(addrs, addr)
		_, ends[i] = registerNode(t, b, i, addr)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return b, cl, ends
}

// produceEach creates topic (3 partitions, RF 3) and writes n records to each partition.
func produceEach(t *testing.T, cl *kgo.Client, topic string, n int) {
	t.Helper()
	ctx := context.Background()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 3, nil, topic); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for p := range int32(3) {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(strconv.Itoa(i))})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// placementOf returns broker i's placement answer for topic.
func placementOf(t *testing.T, b *Backend, i int, topic string) string {
	t.Helper()
	resp, err := http.Get(b.URL() + "/placement?index=" + strconv.Itoa(i) + "&topic=" + topic)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("placement of broker %d: %s: %s", i, resp.Status, body)
	}
	return strings.TrimSpace(string(body))
}

// isrOf returns partition p's replicas and in-sync replicas as broker 0's
// metadata answer shows them (a fresh request: kgo may answer from its cache).
func isrOf(t *testing.T, b *Backend, topic string, p int32) ([]int32, []int32) {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.repl.front[0].ln.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := req.RequestWith(context.Background(), cl.Broker(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.Partition == p {
				return rp.Replicas, rp.ISR
			}
		}
	}
	t.Fatalf("no partition %d of %s in %+v", p, topic, resp)
	return nil, nil
}

// The healthy mode lists the assignment as replicas and drops a dead node
// from the in-sync replicas; every replica holds every record. The lie
// keeps it in sync. Leader-only (#29) holds acks=all writes on the leader
// alone, lists every replica in sync, and loses them with the leader.
func TestBackendReplicationModes(t *testing.T) {
	for _, tc := range []struct {
		mode      Replication
		isrAfter  []int32 // partition 0's ISR once node 2 is killed
		placement []string
	}{
		{ReplicationHealthy, []int32{0, 1}, []string{"0 records=5\n1 records=5\n2 records=5", "0 records=5\n1 records=5\n2 records=5", "0 records=5\n1 records=5\n2 records=5"}},
		{ReplicationISRLies, []int32{0, 1, 2}, []string{"0 records=5\n1 records=5\n2 records=5", "0 records=5\n1 records=5\n2 records=5", "0 records=5\n1 records=5\n2 records=5"}},
		{ReplicationLeaderOnly, []int32{0, 1, 2}, []string{"0 records=5", "1 records=5", "2 records=5"}},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			t.Parallel()
			b, cl, ends := replicationCluster(t, tc.mode)
			produceEach(t, cl, "t", 5)
			for i, want := range tc.placement {
				if got := placementOf(t, b, i, "t"); got != want {
					t.Errorf("placement of broker %d:\n%s\nwant:\n%s", i, got, want)
				}
			}
			if r, isr := isrOf(t, b, "t", 1); !slices.Equal(r, []int32{1, 2, 0}) || !slices.Equal(isr, []int32{1, 2, 0}) {
				t.Errorf("partition 1: replicas %v, isr %v; want the assignment [1 2 0], all in sync", r, isr)
			}
			ends[2]()
			waitEvent(t, b, "kill broker 2")
			r, isr := isrOf(t, b, "t", 0)
			if !slices.Equal(r, []int32{0, 1, 2}) || !slices.Equal(isr, tc.isrAfter) {
				t.Errorf("partition 0 with node 2 dead: replicas %v, isr %v; want replicas [0 1 2], isr %v", r, isr, tc.isrAfter)
			}
			if tc.mode == ReplicationLeaderOnly {
				waitEvent(t, b, "node 2 went down holding t partition 2 alone: its 5 record(s) deleted")
			}
		})
	}
}

// The placement command prints a node's placement answer; a backend
// without a replication mode has none, and the command says why.
func TestPlacementCommand(t *testing.T) {
	b, cl, _ := replicationCluster(t, ReplicationHealthy)
	produceEach(t, cl, "t", 2)
	var out, errOut strings.Builder
	if code := Placement([]string{"--backend", b.URL(), "--index", "1", "--topic", "t"}, &out, &errOut); code != 0 || out.String() != "0 records=2\n1 records=2\n2 records=2\n" {
		t.Errorf("placement = %d, %q, %q", code, out.String(), errOut.String())
	}
	kb := startBackend(t, 1)
	out.Reset()
	if code := Placement([]string{"--backend", kb.URL(), "--index", "0", "--topic", "t"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "501 Not Implemented: this backend has no replication mode") {
		t.Errorf("placement on kfake = %d, %q", code, errOut.String())
	}
}
