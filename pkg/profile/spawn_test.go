package profile

import (
	"slices"
	"strings"
	"testing"
)

// spawnYAML is a valid spawn profile; tests change lines of it.
const spawnYAML = `name: spawned
cluster:
  mode: spawn
  nodes: 3
  spawn:
    command: ["{{.Env.SPAWN_TEST_BIN}}", "--config", "{{.File \"node.toml\"}}", "--id", "{{.ID}}"]
    env: {RUST_LOG: "info", NODE: "{{.ID}}"}
    ports: [kafka, raft, http]
    port_bases: {http: 16092}
    files:
      node.toml: |
        node_id = {{.ID}}
        data_dir = {{quote .DataDir}}
        {{range .Peers}}[[peers]]
        id = {{.ID}}
        raft = "{{.Addr "raft"}}"
        {{end}}
    ready: {http: "http://127.0.0.1:{{.Port \"http\"}}/health"}
    stop: {signal: SIGINT, grace: 3s}
    logs:
      fail_on: ["panicked at", "(?i)quorum lost"]
      ignore: ["benign"]
      grace: 5s
      count: {elections: "elected"}
`

func TestSpawnProfileParsesAndValidates(t *testing.T) {
	p := mustParse(t, "spawned.yaml", spawnYAML)
	if err := p.Validate(known); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s := p.Cluster.Spawn
	if s.KafkaPort != "kafka" || s.Stop.StopSignal() != "INT" || s.Stop.Grace.String() != "3s" || s.Logs.Grace.String() != "5s" {
		t.Errorf("spawn = %+v: want the kafka_port default, SIGINT as INT, the given graces", s)
	}
	if got := s.RequiredEnv(); !slices.Equal(got, []string{"SPAWN_TEST_BIN"}) {
		t.Errorf("RequiredEnv = %v, want [SPAWN_TEST_BIN]", got)
	}
	// Keys left out keep their defaults.
	q := mustParse(t, "min.yaml", "cluster:\n  mode: spawn\n  spawn:\n    command: [x]\n    ports: [kafka]\n")
	if err := q.Validate(known); err != nil {
		t.Fatalf("Validate minimal spawn profile: %v", err)
	}
	if d := q.Cluster.Spawn; d.Stop.Signal != "TERM" || d.Stop.Grace.Duration != DefaultStopGrace || d.KafkaPort != "kafka" {
		t.Errorf("defaults = %+v", d)
	}
}

func TestSpawnRender(t *testing.T) {
	p := mustParse(t, "spawned.yaml", spawnYAML)
	nodes := p.Cluster.Spawn.placeholderNodes(3)
	nodes[0].Env["SPAWN_TEST_BIN"] = "/opt/broker"
	r, err := p.Cluster.Spawn.Render(nodes[1])
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if want := []string{"/opt/broker", "--config", "/work/node-2/node.toml", "--id", "2"}; !slices.Equal(r.Command, want) {
		t.Errorf("Command = %q, want %q", r.Command, want)
	}
	if want := []string{"NODE=2", "RUST_LOG=info"}; !slices.Equal(r.Env, want) {
		t.Errorf("Env = %q, want %q", r.Env, want)
	}
	if r.ReadyURL != "http://127.0.0.1:16093/health" {
		t.Errorf("ReadyURL = %q: node 2 gets port_bases.http + 1", r.ReadyURL)
	}
	toml := r.Files["node.toml"]
	for _, want := range []string{"node_id = 2\n", `data_dir = "/work/node-2/data"`, "id = 1\n", "id = 3\n", `raft = "127.0.0.1:`} {
		if !strings.Contains(toml, want) {
			t.Errorf("node.toml lacks %q:\n%s", want, toml)
		}
	}
	if strings.Count(toml, "[[peers]]") != 3 {
		t.Errorf("node.toml has %d [[peers]], want one per node:\n%s", strings.Count(toml, "[[peers]]"), toml)
	}
}

func TestSpawnValidateRules(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Spawn)
		wantKey string
		wantMsg string
	}{
		{"no command", func(s *Spawn) { s.Command = nil }, "cluster.spawn.command", "must name the program"},
		{"no ports", func(s *Spawn) { s.Ports = nil; s.PortBases = nil }, "cluster.spawn.ports", "must name at least the port"},
		{"bad port name", func(s *Spawn) { s.Ports = []string{"kafka", "Raft-1", "http"} }, "cluster.spawn.ports[1]", `"Raft-1" is not a port name`},
		{"port twice", func(s *Spawn) { s.Ports = []string{"kafka", "raft", "http", "raft"} }, "cluster.spawn.ports[3]", `"raft" is listed twice`},
		{"kafka port unknown", func(s *Spawn) { s.KafkaPort = "client" }, "cluster.spawn.kafka_port", `"client" is not one of cluster.spawn.ports (kafka, raft, http)`},
		{"base for unknown port", func(s *Spawn) { s.PortBases = map[string]int{"admin": 10001} }, "cluster.spawn.port_bases.admin", `"admin" is not one of`},
		{"base too high", func(s *Spawn) { s.PortBases = map[string]int{"http": 65534} }, "cluster.spawn.port_bases.http", "65534..65536 (one port per node) is not within 1..65535"},
		{"bases overlap", func(s *Spawn) { s.PortBases = map[string]int{"http": 9000, "kafka": 9002} }, "cluster.spawn.port_bases.kafka", "port 9002 of node 1 is also http of node 3"},
		{"env name", func(s *Spawn) { s.Env = map[string]string{"RUST LOG": "x"} }, "cluster.spawn.env.RUST LOG", "is not an environment variable name"},
		{"file outside", func(s *Spawn) { s.Files["../x.toml"] = "" }, "cluster.spawn.files.../x.toml", "must be a clean path"},
		{"file absolute", func(s *Spawn) { s.Files["/etc/x"] = "" }, "cluster.spawn.files./etc/x", "must be a relative path"},
		{"file in data", func(s *Spawn) { s.Files["data/x"] = "" }, "cluster.spawn.files.data/x", "is inside data/"},
		{"signal", func(s *Spawn) { s.Stop.Signal = "STOP" }, "cluster.spawn.stop.signal", `"STOP" is not a signal this runner sends`},
		{"stop grace", func(s *Spawn) { s.Stop.Grace.Duration = -1 }, "cluster.spawn.stop.grace", "must not be negative"},
		{"fail_on regexp", func(s *Spawn) { s.Logs.FailOn = []string{"ok", "(unclosed"} }, "cluster.spawn.logs.fail_on[1]", `"(unclosed" is not a regular expression: missing closing ): `},
		{"ignore regexp", func(s *Spawn) { s.Logs.Ignore = []string{"*"} }, "cluster.spawn.logs.ignore[0]", "is not a regular expression"},
		{"count regexp", func(s *Spawn) { s.Logs.Count = map[string]string{"x": "a{2,1}"} }, "cluster.spawn.logs.count.x", "is not a regular expression"},
		{"template syntax", func(s *Spawn) { s.Files = map[string]string{"node.toml": "id = {{.ID}\n"} }, "cluster.spawn.files.node.toml", `template line 1: bad character U+007D '}'`},
		{"unknown port in template", func(s *Spawn) { s.Command = []string{"x", "{{.Port \"raf\"}}"} }, "cluster.spawn.command[1]", `template line 1: {{.Port}}: no port "raf": cluster.spawn.ports has http, kafka, raft`},
		{"unknown file in template", func(s *Spawn) { s.Command = []string{"x", "{{.File \"n.toml\"}}"} }, "cluster.spawn.command[1]", `no file "n.toml": cluster.spawn.files has node.toml`},
		{"unknown field", func(s *Spawn) { s.Command = []string{"x", "{{.Name}}"} }, "cluster.spawn.command[1]", "can't evaluate field Name"},
		{"empty program", func(s *Spawn) { s.Command = []string{"{{index .Env \"NOT_SET_ANYWHERE_X\"}}"} }, "cluster.spawn.command[0]", "renders to an empty program name"},
		{"probe scheme", func(s *Spawn) { s.Ready.HTTP = "tcp://127.0.0.1:{{.Port \"http\"}}" }, "cluster.spawn.ready.http", "must be an http:// or https:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, "spawned.yaml", spawnYAML)
			tt.edit(&p.Cluster.Spawn)
			wantProblem(t, p.Validate(known), tt.wantKey, tt.wantMsg)
		})
	}
}

func TestSpawnModeRules(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Profile)
		wantKey string
		wantMsg string
	}{
		{"spawn without section", func(p *Profile) { p.Cluster.Mode = ModeSpawn }, "cluster.spawn", "spawn mode needs a spawn section"},
		{"embedded with section", func(p *Profile) { p.Cluster.Spawn.Command = []string{"x"} }, "cluster.spawn", "only used in spawn mode"},
		{"attach keeps its section", func(p *Profile) {
			p.Cluster.Mode, p.Cluster.Bootstrap = ModeAttach, []string{"a:1"}
			p.Cluster.Spawn.Command = []string{"x"}
		}, "", ""},
		{"embedded ports", func(p *Profile) { p.Cluster.Ports = []int{9092, 9093, 9094} }, "", ""},
		{"embedded ports count", func(p *Profile) { p.Cluster.Ports = []int{9092} }, "cluster.ports", "lists 1 ports for 3 nodes"},
		{"embedded port range", func(p *Profile) { p.Cluster.Ports = []int{9092, 0, 9094} }, "cluster.ports[1]", "port 0 is not in 1..65535"},
		{"embedded port twice", func(p *Profile) { p.Cluster.Ports = []int{9092, 9093, 9092} }, "cluster.ports[2]", "port 9092 is listed twice"},
		{"attach ports", func(p *Profile) {
			p.Cluster.Mode, p.Cluster.Bootstrap = ModeAttach, []string{"a:1"}
			p.Cluster.Ports = []int{1, 2, 3}
		}, "cluster.ports", "only for embedded mode"},
		{"spawn with bootstrap", func(p *Profile) {
			p.Cluster.Mode, p.Cluster.Bootstrap = ModeSpawn, []string{"a:1"}
			p.Cluster.Spawn.Command, p.Cluster.Spawn.Ports = []string{"x"}, []string{"kafka"}
		}, "cluster.bootstrap", "only for attach mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			tt.edit(p)
			wantProblem(t, p.Validate(known), tt.wantKey, tt.wantMsg)
		})
	}
}

// Problems inside the spawn section name the line of their key, down to
// the file name or list item, and every problem is reported at once.
func TestSpawnProblemsHaveLines(t *testing.T) {
	yml := strings.NewReplacer(
		`signal: SIGINT`, `signal: STOP`,
		`id = {{.ID}}`, `id = {{.Id}}`,
		`"(?i)quorum lost"`, `"(?i)quorum lost("`,
	).Replace(spawnYAML)
	p, err := Parse("spawned.yaml", []byte(yml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	msg := p.Validate(known).Error()
	for _, want := range []string{
		`spawned.yaml:19: cluster.spawn.stop.signal: "STOP" is not a signal this runner sends`,
		"spawned.yaml:11: cluster.spawn.files.node.toml: template line 1: {{.Id}}: can't evaluate field Id",
		`spawned.yaml:21: cluster.spawn.logs.fail_on[1]: "(?i)quorum lost(" is not a regular expression`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
}

func TestSpawnUnknownKey(t *testing.T) {
	_, err := Parse("x.yaml", []byte("cluster:\n  mode: spawn\n  spawn:\n    comand: [x]\n    stop: {signal: TERM, grase: 1s}\n"))
	msg := err.Error()
	for _, want := range []string{
		`x.yaml:4: unknown key "comand" in cluster.spawn (known: command, env, files, ports, port_bases, kafka_port, ready, stop, logs, work_dir, placement)`,
		`x.yaml:5: unknown key "grase" in cluster.spawn.stop (known: signal, grace)`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestChronikProfile(t *testing.T) {
	p, err := Load("chronik-3x3")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(known); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	s := p.Cluster.Spawn
	if p.Cluster.Mode != ModeSpawn || p.Cluster.Nodes != 3 || !slices.Equal(s.RequiredEnv(), []string{"CHRONIK_BIN"}) {
		t.Errorf("chronik-3x3: mode %s, %d nodes, env %v", p.Cluster.Mode, p.Cluster.Nodes, s.RequiredEnv())
	}
	if s.PortBases["health"] != 6092 || s.PortBases["admin"] != 10001 {
		t.Errorf("port_bases = %v: Chronik's fixed ports are 6091+id and 10000+id", s.PortBases)
	}
}

// The shipped spawn profiles carry a placement hook that renders per node
// and topic: Chronik's lists its WAL directory for the topic.
func TestShippedPlacementHooks(t *testing.T) {
	for _, tc := range []struct{ ref, want string }{
		{"chronik-3x3", `ls "/work/node-2/data/wal/t1" 2>/dev/null || true`},
		{"replication", "internal placement --backend /ENV/BACKEND --index 1 --topic t1"},
	} {
		p, err := Load(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(append(slices.Clone(known), p.Scenarios...)); err != nil {
			t.Fatalf("%s: Validate: %v", tc.ref, err)
		}
		s := &p.Cluster.Spawn
		n := s.placeholderNodes(3)[1]
		n.Env["BACKEND"] = "/ENV/BACKEND"
		got, err := s.RenderPlacement(n, "t1")
		if err != nil || !strings.Contains(got, tc.want) {
			t.Errorf("%s: placement for node 2 = %q, %v; want it to contain %q", tc.ref, got, err, tc.want)
		}
	}
}

// A placement template with an unknown field is a problem with its key and line.
func TestPlacementTemplateProblems(t *testing.T) {
	p := mustParse(t, "p.yaml", `cluster:
  mode: spawn
  spawn:
    command: [broker, --listen, '{{.Addr "kafka"}}']
    ports: [kafka]
    placement: 'ls {{.Partition}}'
`)
	wantProblem(t, p.Validate(known), "cluster.spawn.placement", "Partition")
	p = mustParse(t, "h.yaml", `cluster:
  mode: attach
  bootstrap: [10.0.0.1:9092]
faults:
  hooks:
    placement: 'kubectl exec chronik-{{.ID}} -- ls /data/wal/{{.Topc}}'
`)
	wantProblem(t, p.Validate(known), "faults.hooks.placement", "Topc")
}

// LinkAddr gives a peer's port through the node's link proxy when it has
// one, else the port itself, and the node's own port for itself;
// ClientAddr gives the client proxy when there is one. LinkPorts finds the
// ports the templates ask for.
func TestLinkAndClientAddr(t *testing.T) {
	n1 := &TemplateNode{ID: 1, Nodes: 2, Host: "127.0.0.1", Ports: map[string]int{"kafka": 9001, "raft": 5001}}
	n2 := &TemplateNode{ID: 2, Nodes: 2, Host: "127.0.0.1", Ports: map[string]int{"kafka": 9002, "raft": 5002}}
	n1.Peers, n2.Peers = []*TemplateNode{n1, n2}, []*TemplateNode{n1, n2}
	n1.Links = map[PeerPort]string{{ID: 2, Port: "raft"}: "127.0.0.1:7012"}
	n1.Clients = map[string]string{"kafka": "127.0.0.1:7001"}
	for _, tc := range []struct {
		got  func() (string, error)
		want string
	}{
		{func() (string, error) { return n1.LinkAddr(2, "raft") }, "127.0.0.1:7012"},
		{func() (string, error) { return n1.LinkAddr(1, "raft") }, "127.0.0.1:5001"},
		{func() (string, error) { return n1.LinkAddr(2, "kafka") }, "127.0.0.1:9002"},
		{func() (string, error) { return n2.LinkAddr(1, "raft") }, "127.0.0.1:5001"},
		{func() (string, error) { return n1.ClientAddr("kafka") }, "127.0.0.1:7001"},
		{func() (string, error) { return n2.ClientAddr("kafka") }, "127.0.0.1:9002"},
		{func() (string, error) { return n1.LinkAddr(3, "raft") }, "error: no node 3: the cluster's nodes are 1..2"},
		{func() (string, error) { return n1.LinkAddr(2, "wal") }, `error: no port "wal"`},
	} {
		got, err := tc.got()
		if err != nil {
			got = "error: " + err.Error()
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}

	s := Spawn{Command: []string{"b", `{{range .Peers}}{{$.LinkAddr .ID "raft"}},{{end}}`}, Ports: []string{"kafka", "raft", "wal"},
		Files: map[string]string{"c": `{{range .Peers}}{{($.LinkAddr .ID "wal")}}{{end}} {{.ClientAddr "kafka"}}`}}
	if ports, all := s.LinkPorts(); all || !slices.Equal(ports, []string{"raft", "wal"}) || !s.CallsClientAddr() {
		t.Errorf("LinkPorts = %v, %v, CallsClientAddr = %v; want [raft wal], false, true", ports, all, s.CallsClientAddr())
	}
	s.Env = map[string]string{"X": `{{range $p := .Ports}}{{$.LinkAddr 1 $p}}{{end}}`}
	if _, all := s.LinkPorts(); !all {
		t.Error("a port named by a variable: want every port fronted")
	}
	if (&Spawn{Command: []string{"b"}}).CallsClientAddr() {
		t.Error("CallsClientAddr without a call")
	}
}
