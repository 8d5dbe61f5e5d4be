package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// chronikConfig is the node TOML Chronik v2.10 reads (its ClusterConfig):
// decoding rejects any other key.
type chronikConfig struct {
	Enabled           bool          `toml:"enabled"`
	NodeID            uint64        `toml:"node_id"`
	DataDir           string        `toml:"data_dir"`
	ReplicationFactor int           `toml:"replication_factor"`
	MinInsyncReplicas int           `toml:"min_insync_replicas"`
	Bind              *chronikAddrs `toml:"bind"`
	Advertise         *chronikAddrs `toml:"advertise"`
	Peers             []chronikPeer `toml:"peers"`
}

type chronikAddrs struct {
	Kafka string `toml:"kafka"`
	WAL   string `toml:"wal"`
	Raft  string `toml:"raft"`
}

type chronikPeer struct {
	ID    uint64 `toml:"id"`
	Kafka string `toml:"kafka"`
	WAL   string `toml:"wal"`
	Raft  string `toml:"raft"`
}

// configs/chronik-3x3.yaml renders, for each of its three nodes, a node.toml
// that Chronik accepts: the fields it needs, one [[peers]] entry per node
// with the addresses that node binds, its own [bind] (else Raft binds
// 0.0.0.0:5001 on all three), and data dirs, ports and ids that no two
// nodes share. The probe goes to Chronik's fixed health port 6091+node_id.
func TestChronikProfileRendersNodeConfigs(t *testing.T) {
	p, err := profile.Load("chronik-3x3")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate([]string{"topic-create", "produce", "consume", "metadata"}); err != nil {
		t.Fatal(err)
	}
	spec := p.Cluster.Spawn
	t.Setenv("CHRONIK_BIN", "/opt/chronik/bin/chronik-server")
	// A work dir with a quote and a backslash: data_dir must still be valid TOML.
	workDir := filepath.Join(t.TempDir(), `run "1" \ x`)
	plan := make([]map[string]int, 3)
	for i := range plan {
		plan[i] = map[string]int{"kafka": 19092 + i, "wal": 19291 + i, "raft": 15001 + i, "health": 6092 + i, "admin": 10001 + i}
	}
	nodes := templateNodes(3, spec, workDir, plan)

	addr := func(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
	seenPorts := map[string]int{}
	seenDirs := map[string]bool{}
	for i, tn := range nodes {
		id := i + 1
		r, err := spec.Render(tn)
		if err != nil {
			t.Fatalf("node %d: %v", id, err)
		}
		wantCmd := []string{"/opt/chronik/bin/chronik-server", "start", "--config", filepath.Join(workDir, fmt.Sprintf("node-%d", id), "node.toml")}
		if !slices.Equal(r.Command, wantCmd) {
			t.Errorf("node %d: command %q, want %q", id, r.Command, wantCmd)
		}
		if want := fmt.Sprintf("http://127.0.0.1:%d/health", 6091+id); r.ReadyURL != want {
			t.Errorf("node %d: probe %q, want %q", id, r.ReadyURL, want)
		}
		if !slices.Contains(r.Env, "NO_COLOR=1") {
			t.Errorf("node %d: env %q lacks NO_COLOR=1", id, r.Env)
		}

		text := r.Files["node.toml"]
		var c chronikConfig
		dec := toml.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("node %d: node.toml is not the TOML Chronik reads: %v\n%s", id, err, text)
		}
		if !c.Enabled || c.NodeID != uint64(id) || c.ReplicationFactor != 3 || c.MinInsyncReplicas != 2 {
			t.Errorf("node %d: enabled %v, node_id %d, replication_factor %d, min_insync_replicas %d; want true, %d, 3, 2",
				id, c.Enabled, c.NodeID, c.ReplicationFactor, c.MinInsyncReplicas, id)
		}
		if c.DataDir != tn.DataDir || !filepath.IsAbs(c.DataDir) || seenDirs[c.DataDir] {
			t.Errorf("node %d: data_dir %q, want its own absolute %q", id, c.DataDir, tn.DataDir)
		}
		seenDirs[c.DataDir] = true
		own := chronikAddrs{Kafka: addr(plan[i]["kafka"]), WAL: addr(plan[i]["wal"]), Raft: addr(plan[i]["raft"])}
		if c.Bind == nil || *c.Bind != own {
			t.Errorf("node %d: [bind] %+v, want %+v", id, c.Bind, own)
		}
		if c.Advertise == nil || *c.Advertise != own {
			t.Errorf("node %d: [advertise] %+v, want %+v", id, c.Advertise, own)
		}
		for _, a := range []string{own.Kafka, own.WAL, own.Raft} {
			if other, dup := seenPorts[a]; dup {
				t.Errorf("node %d binds %s, as node %d does", id, a, other)
			}
			seenPorts[a] = id
		}
		if len(c.Peers) != 3 {
			t.Fatalf("node %d: %d [[peers]], want 3:\n%s", id, len(c.Peers), text)
		}
		for j, peer := range c.Peers {
			want := chronikPeer{ID: uint64(j + 1), Kafka: addr(plan[j]["kafka"]), WAL: addr(plan[j]["wal"]), Raft: addr(plan[j]["raft"])}
			if peer != want {
				t.Errorf("node %d: peer %d = %+v, want %+v", id, j, peer, want)
			}
		}
		// Clients are given peers[self].kafka: it must be the address the node binds.
		if self := c.Peers[i]; self.ID != c.NodeID || self.Kafka != own.Kafka {
			t.Errorf("node %d: peers[self] = %+v, want id %d at %s", id, self, id, own.Kafka)
		}
	}
}

// Without CHRONIK_BIN the profile cannot start, and says so (exit 3)
// before anything runs; with a CHRONIK_BIN that is not a program, too.
func TestChronikProfileNeedsChronikBin(t *testing.T) {
	p, err := profile.Load("chronik-3x3")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHRONIK_BIN", "")
	err = checkEnv(p.Cluster.Spawn)
	if err == nil || !strings.Contains(err.Error(), "environment variable CHRONIK_BIN is not set: cluster.spawn uses {{.Env.CHRONIK_BIN}}") {
		t.Errorf("checkEnv = %v", err)
	}
	dir := t.TempDir()
	notExec := filepath.Join(dir, "chronik-server")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ bin, want string }{
		{filepath.Join(dir, "missing"), "does not exist"},
		{dir, "is a directory"},
		{notExec, "is not executable"},
		{"no-such-chronik-server-in-path", "is not in PATH"},
	} {
		_, err := resolveProgram(tt.bin, p.Cluster.Spawn)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `(from "{{.Env.CHRONIK_BIN}}")`) {
			t.Errorf("resolveProgram(%q) = %v, want an error saying it %s", tt.bin, err, tt.want)
		}
	}
}

// With faults.network on, the same templates route every node's raft and
// wal links to its peers through the runner's link proxies, one per
// directed link, and tell clients each node's client proxy, while each node
// still binds and advertises its own raft and wal ports.
func TestChronikProfileRendersLinkProxies(t *testing.T) {
	p, err := profile.Load("chronik-3x3")
	if err != nil {
		t.Fatal(err)
	}
	p.Faults.Network = true
	if err := p.Validate([]string{"topic-create", "produce", "consume", "metadata"}); err != nil {
		t.Fatal(err)
	}
	spec := p.Cluster.Spawn
	if ports, all := spec.LinkPorts(); all || !slices.Equal(ports, []string{"raft", "wal"}) {
		t.Fatalf("LinkPorts = %v, %v; want [raft wal], false", ports, all)
	}
	t.Setenv("CHRONIK_BIN", "/opt/chronik/bin/chronik-server")
	plan := make([]map[string]int, 3)
	for i := range plan {
		plan[i] = map[string]int{"kafka": 19092 + i, "wal": 19291 + i, "raft": 15001 + i, "health": 6092 + i, "admin": 10001 + i}
	}
	links, err := startLinkNet(3, linkPorts(spec), spec.KafkaPort, plan)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(links.close)
	if got := len(links.links); got != 3*2*2+3 {
		t.Errorf("%d links, want 15: 6 directed pairs on raft and wal, and the runner's 3", got)
	}
	nodes := templateNodes(3, spec, t.TempDir(), plan)
	links.fill(nodes)
	addr := func(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
	proxyOf := func(from, to int32, port string) string {
		return links.proxies[Link{From: from, To: to, Port: port}].Addr()
	}
	seen := map[string]bool{}
	for i, tn := range nodes {
		id := int32(i + 1)
		r, err := spec.Render(tn)
		if err != nil {
			t.Fatalf("node %d: %v", id, err)
		}
		var c chronikConfig
		dec := toml.NewDecoder(strings.NewReader(r.Files["node.toml"]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("node %d: %v", id, err)
		}
		own := chronikAddrs{Kafka: addr(plan[i]["kafka"]), WAL: addr(plan[i]["wal"]), Raft: addr(plan[i]["raft"])}
		if c.Bind == nil || *c.Bind != own {
			t.Errorf("node %d: [bind] %+v, want its own ports %+v", id, c.Bind, own)
		}
		adv := chronikAddrs{Kafka: proxyOf(ClientNode, id, "kafka"), WAL: own.WAL, Raft: own.Raft}
		if c.Advertise == nil || *c.Advertise != adv {
			t.Errorf("node %d: [advertise] %+v, want %+v", id, c.Advertise, adv)
		}
		for j, peer := range c.Peers {
			to := int32(j + 1)
			want := chronikPeer{ID: uint64(to), Kafka: proxyOf(ClientNode, to, "kafka")}
			if to == id {
				want.WAL, want.Raft = own.WAL, own.Raft
			} else {
				want.WAL, want.Raft = proxyOf(id, to, "wal"), proxyOf(id, to, "raft")
				for _, a := range []string{want.WAL, want.Raft} {
					if seen[a] {
						t.Errorf("node %d: proxy %s serves two links", id, a)
					}
					seen[a] = true
				}
			}
			if peer != want {
				t.Errorf("node %d: peer %d = %+v, want %+v", id, to, peer, want)
			}
		}
	}
	// Each proxy forwards to its link's target port.
	for _, l := range links.links {
		if got, want := links.proxies[l].Target(), addr(plan[l.To-1][l.Port]); got != want {
			t.Errorf("link %s forwards to %s, want %s", l, got, want)
		}
	}
}
