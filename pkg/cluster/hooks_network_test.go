//go:build unix

package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
)

// both returns the links that cut node off from peers, both ways, on port.
func both(node int32, port string, peers ...int32) []Link {
	var links []Link
	for _, p := range peers {
		links = append(links, Link{From: node, To: p, Port: port}, Link{From: p, To: node, Port: port})
	}
	return links
}

func TestIsolation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links []Link
		node  int32
		peers []int32
		err   string
	}{
		{"one node from two", both(1, "raft", 2, 3), 1, []int32{2, 3}, ""},
		{"ports are ignored", append(both(2, "raft", 1, 3), both(2, "wal", 1, 3)...), 2, []int32{1, 3}, ""},
		{"one pair", both(3, AnyPort, 1), 3, []int32{1}, ""},
		{"one link", both(1, "raft", 2)[1:2:2], 0, nil, "do not cut one node off from its peers both ways"},
		{"one way", []Link{{1, 2, "raft"}, {1, 3, "raft"}}, 0, nil, "do not cut one node off"},
		{"asymmetric", []Link{{1, 2, "raft"}, {1, 3, "raft"}, {2, 1, "raft"}}, 0, nil, "do not cut one node off"},
		{"a bridge", append(both(1, "raft", 2), both(3, "raft", 4)...), 0, nil, "do not cut one node off"},
		{"the runner's link", []Link{{ClientNode, 1, "kafka"}}, 0, nil, "the runner's own link"},
		{"no links", nil, 0, nil, "no links"},
	} {
		node, peers, err := isolation(tc.links)
		switch {
		case tc.err == "" && (err != nil || node != tc.node || !slices.Equal(peers, tc.peers)):
			t.Errorf("%s: isolation = %d, %v, %v; want %d, %v", tc.name, node, peers, err, tc.node, tc.peers)
		case tc.err != "" && (!errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), hooksCan)):
			t.Errorf("%s: error %v, want ErrUnsupported saying %q and what hooks can do", tc.name, err, tc.err)
		}
	}
}

// TestHookedNetwork: an attached cluster with partition and heal hooks cuts
// a node off from its peers by running the partition hook with the node
// and its peers (their addresses from the cluster's metadata), refuses
// faults hooks cannot make, and heals every node it partitioned once.
func TestHookedNetwork(t *testing.T) {
	e, err := StartEmbedded(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	file := filepath.Join(t.TempDir(), "hooks.log")
	h, err := AttachWithHooks(e.Bootstrap(), Hooks{
		Partition: `echo "{{.Op}} {{.ID}} at {{.Addr}} from{{range .Peers}} {{.ID}}@{{.Host}}:{{.Port}}{{end}} env=$CHRONIK_E2E_PEER_IDS" >> ` + file + `; echo cut`,
		Heal:      `echo "{{.Op}} {{.ID}} from{{range .Peers}} {{.ID}}{{end}}" >> ` + file,
		Nodes:     3, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if nc, why := Network(h); nc == nil {
		t.Fatalf("Network = nil, %q", why)
	}
	cfg, err := kafka.Config("3.6.0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	brokers, err := h.WaitReady(ctx, time.Minute, cfg, nil)
	if err != nil || len(brokers) != 3 {
		t.Fatalf("WaitReady = %v, %v", brokers, err)
	}
	if links := h.Links(); len(links) != 6 || links[0] != (Link{0, 1, AnyPort}) {
		t.Errorf("Links = %v, want every ordered pair of the 3 brokers on %q", links, AnyPort)
	}

	fault := NetFault{Kind: NetCut, Links: both(0, "raft", 1, 2)}
	what, err := h.Apply(ctx, fault)
	if err != nil {
		t.Fatal(err)
	}
	if want := "cut (reset) 0→1 raft, 1→0 raft, 0→2 raft, 2→0 raft: partition hook for node 0: cut"; what != want {
		t.Errorf("Apply said %q, want %q", what, want)
	}
	for _, f := range []NetFault{
		{Kind: NetSlow, Links: both(0, "raft", 1), Latency: time.Second},
		{Kind: NetFlaky, Links: both(0, "raft", 1), ResetEvery: time.Second},
		{Kind: NetCut, Links: []Link{{0, 1, "raft"}}},
		{Kind: NetCut, Links: []Link{{ClientNode, 1, "kafka"}}},
	} {
		if _, err := h.Apply(ctx, f); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Apply(%s) = %v, want ErrUnsupported", f, err)
		}
	}
	if _, err := h.Apply(ctx, NetFault{Kind: NetCut, Links: both(7, "raft", 1)}); err == nil || !strings.Contains(err.Error(), "node 7 is not among the brokers the cluster listed") {
		t.Errorf("Apply to an unknown node = %v", err)
	}
	what, err = h.Heal(ctx)
	if err != nil || what != "healed node 0 from 1, 2" {
		t.Errorf("Heal = %q, %v; want node 0 healed from 1, 2", what, err)
	}
	if what, err := h.Heal(ctx); err != nil || what != "healed: no node was partitioned" {
		t.Errorf("second Heal = %q, %v; want nothing to heal", what, err)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	addr := func(i int) string { return brokers[i].Addr }
	want := "partition 0 at " + addr(0) + " from 1@" + addr(1) + " 2@" + addr(2) + " env=1,2\nheal 0 from 1 2\n"
	if string(got) != want {
		t.Errorf("the hooks wrote\n%s\nwant\n%s", got, want)
	}
}

// Without network hooks, or with faults.network off, a cluster has no
// network controller and says why; with only one of the two hooks the
// profile is refused.
func TestNetworkUnavailable(t *testing.T) {
	h, err := AttachWithHooks([]string{"127.0.0.1:1"}, Hooks{Commands: map[Op]string{OpKill: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if nc, why := Network(h); nc != nil || !strings.Contains(why, "set faults.hooks.partition and faults.hooks.heal") {
		t.Errorf("Network(hooked without network hooks) = %v, %q", nc, why)
	}
	if nc, why := Network(&Spawned{}); nc != nil || !strings.Contains(why, "faults.network is off") {
		t.Errorf("Network(spawned without faults.network) = %v, %q", nc, why)
	}
	e, err := StartEmbedded(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	if nc, why := Network(e); nc != nil || why != "the embedded cluster has no links between its nodes to cut" {
		t.Errorf("Network(embedded) = %v, %q", nc, why)
	}
	if _, err := AttachWithHooks(nil, Hooks{Partition: "true"}); err == nil || !strings.Contains(err.Error(), "set both") {
		t.Errorf("a partition hook without heal: %v", err)
	}
	if _, err := AttachWithHooks(nil, Hooks{Partition: "x {{.Peer}}", Heal: "true"}); err == nil || !strings.Contains(err.Error(), "partition hook") {
		t.Errorf("a partition hook with an unknown field: %v", err)
	}
}
