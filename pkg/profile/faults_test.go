package profile

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Target
		err  string
	}{
		{"leader-of-most", Target{Kind: TargetLeaderOfMost}, ""},
		{"random", Target{Kind: TargetRandom}, ""},
		{"node:2", Target{Kind: "node", Node: 2}, ""},
		{"node:-1", Target{}, `node id "-1" is not a whole number of at least 0`},
		{"node:x", Target{}, `node id "x" is not a whole number`},
		{"leader", Target{}, `"leader" is not leader-of-most, node:<id> or random`},
	} {
		got, err := ParseTarget(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseTarget(%q) error %v, want %q", tc.in, err, tc.err)
		}
	}
}

// TestFaultsSection: a faults section is read with every key, keys left out
// keep their defaults, and a bad value is reported with its key and line.
func TestFaultsSection(t *testing.T) {
	p, err := Parse("f.yaml", []byte(`cluster:
  mode: attach
  bootstrap: [10.0.0.1:9092]
faults:
  target: node:2
  seed: 42
  rate: 2000
  warmup: 500ms
  hooks:
    kill: kubectl delete pod chronik-{{.ID}} --grace-period=0 --force
    start: kubectl wait --for=condition=Ready pod/chronik-{{.ID}}
    timeout: 2m
`))
	if err != nil {
		t.Fatal(err)
	}
	f := p.Faults
	want := DefaultFaults()
	want.Target, want.Seed, want.Rate, want.Warmup = "node:2", 42, 2000, Duration{500 * time.Millisecond}
	want.Hooks = Hooks{
		Kill:          "kubectl delete pod chronik-{{.ID}} --grace-period=0 --force",
		Start:         "kubectl wait --for=condition=Ready pod/chronik-{{.ID}}",
		Timeout:       Duration{2 * time.Minute},
		StatsInterval: Duration{5 * time.Second},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("faults = %+v\nwant %+v", f, want)
	}
	if got := f.Hooks.Commands(); len(got) != 2 || got[0].Op != "kill" || got[1].Op != "start" {
		t.Errorf("Commands() = %v, want kill and start", got)
	}
	if err := p.Validate([]string{"topic-create", "produce", "consume", "metadata"}); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestFaultsValidation(t *testing.T) {
	p, err := Parse("f.yaml", []byte(`faults:
  target: node:3
  rate: 0
  warmup: -1s
  election_timeout: 0s
  isr_timeout: -5s
  consumers: 1
  hooks:
    stop: ssh {{.Hostname}} systemctl stop chronik
`))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Validate([]string{"topic-create", "produce", "consume", "metadata"})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	got := strings.Split(ve.Error(), "\n")
	want := []string{
		"f.yaml:2: faults.target: node 3 is not in the embedded cluster, whose nodes are 0..2",
		"f.yaml:3: faults.rate: must be 1..100000 messages per second, not 0",
		"f.yaml:4: faults.warmup: must not be negative, not -1s",
		"f.yaml:5: faults.election_timeout: must be more than 0, not 0s",
		"f.yaml:6: faults.isr_timeout: must be more than 0, not -5s",
		"f.yaml:7: faults.consumers: must be 2..64 (one consumer leaves the group while the others keep reading), not 1",
	}
	if !slices.Equal(got[:len(want)], want) || len(got) != len(want)+1 {
		t.Fatalf("problems:\n%s\nwant:\n%s\n+ the stop hook", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if last := got[len(want)]; !strings.HasPrefix(last, "f.yaml:9: faults.hooks.stop: not a command template") || !strings.Contains(last, "Hostname") {
		t.Errorf("hook problem %q, want its line and the unknown field", last)
	}
}

// TestNetworkFaultKeys: faults.network and the network hooks are read, and
// their problems reported with their lines: network in embedded mode, a
// partition hook without a heal hook, a hook naming an unknown field, and a
// spawn profile whose templates never advertise the runner's client proxy.
func TestNetworkFaultKeys(t *testing.T) {
	p, err := Parse("f.yaml", []byte(`cluster:
  mode: attach
  bootstrap: [10.0.0.1:9092]
faults:
  network: true
  hooks:
    partition: ssh {{.Host}} 'for p in{{range .Peers}} {{.Host}}{{end}}; do iptables -A INPUT -s $p -j DROP; done'
    heal: ssh {{.Host}} iptables -F INPUT
`))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Faults.Network || p.Faults.Hooks.Partition == "" || p.Faults.Hooks.Heal == "" {
		t.Errorf("faults = %+v", p.Faults)
	}
	if err := p.Validate([]string{"topic-create", "produce", "consume", "metadata"}); err != nil {
		t.Errorf("Validate: %v (faults.network is ignored in attach mode, where the hooks cut)", err)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"faults:\n  network: true\n", "f.yaml:2: faults.network: is for spawn mode"},
		{"faults:\n  network: yes please\n", "f.yaml:2"},
		{"faults:\n  hooks:\n    partition: iptables -A INPUT -s {{.Host}} -j DROP\n", "f.yaml:3: faults.hooks.partition: needs faults.hooks.heal too"},
		{"faults:\n  hooks:\n    heal: iptables -F\n", "f.yaml:3: faults.hooks.heal: is only used with faults.hooks.partition"},
		{"faults:\n  hooks:\n    partition: x {{.Peer}}\n    heal: y\n", "f.yaml:3: faults.hooks.partition: not a command template"},
		{"faults:\n  hooks:\n    stats: echo rss_mb=1\n", "f.yaml:3: faults.hooks.stats: is for attach mode: in embedded mode the nodes"},
		{"cluster:\n  mode: attach\n  bootstrap: [a:1]\nfaults:\n  hooks:\n    stats: echo {{.Name}}\n", "f.yaml:6: faults.hooks.stats: not a command template"},
		{"cluster:\n  mode: attach\n  bootstrap: [a:1]\nfaults:\n  hooks:\n    stats: echo rss_mb=1\n    stats_interval: -1s\n", "f.yaml:7: faults.hooks.stats_interval: must not be negative"},
		{`cluster:
  mode: spawn
  spawn:
    command: [broker, --listen, '{{.Addr "kafka"}}']
    ports: [kafka]
faults:
  network: true
`, `f.yaml:7: faults.network: no template of cluster.spawn calls {{.ClientAddr "kafka"}}`},
	} {
		p, err := Parse("f.yaml", []byte(tc.yaml))
		if err == nil {
			err = p.Validate([]string{"topic-create", "produce", "consume", "metadata"})
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// TestNemesisKeys: the nemesis's keys are read, and each bad value is
// reported with its key and line, a bad list item with its own line.
func TestNemesisKeys(t *testing.T) {
	p, err := Parse("n.yaml", []byte(`faults:
  cut_mode: drop
  duration: 3s
  interval: 1s
  nemesis: [partition, kill]
scenarios: [nemesis]
`))
	if err != nil {
		t.Fatal(err)
	}
	f := p.Faults
	if f.CutMode != CutDrop || f.Duration.Duration != 3*time.Second || f.Interval.Duration != time.Second || !slices.Equal(f.Nemesis, []string{"partition", "kill"}) {
		t.Errorf("faults = %+v", f)
	}
	if err := p.Validate([]string{"nemesis"}); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if d := DefaultFaults(); !slices.Equal(d.Nemesis, NemesisFaults) || d.CutMode != CutReset {
		t.Errorf("default nemesis %v, cut mode %q", d.Nemesis, d.CutMode)
	}

	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{`faults:
  cut_mode: blackhole
  duration: 0s
  interval: 100ms
  nemesis:
    - partition
    - flood
    - partition
`, []string{
			`n.yaml:2: faults.cut_mode: must be reset (close connections, refuse new ones) or drop (hold them open, pass nothing), not "blackhole"`,
			"n.yaml:3: faults.duration: must be more than 0, not 0s",
			"n.yaml:4: faults.interval: must be at least 500ms (each fault is held for half of it, then healed), not 100ms",
			`n.yaml:7: faults.nemesis[1]: "flood" is not one of partition, one-way, slow, pause, kill, restart`,
			`n.yaml:8: faults.nemesis[2]: "partition" is listed twice`,
		}},
		{`faults:
  duration: 2s
  interval: 5s
  nemesis: []
`, []string{
			"n.yaml:2: faults.duration: must be at least faults.interval (5s), or the nemesis strikes no fault, not 2s",
			"n.yaml:4: faults.nemesis: must list at least one of partition, one-way, slow, pause, kill, restart",
		}},
		{`faults:
  duration: 2m
scenarios: [nemesis]
`, []string{
			"n.yaml:2: faults.duration: the nemesis strikes for 2m, which leaves no time of timeouts.scenario (2m) to heal, settle and read back: raise timeouts.scenario",
		}},
	} {
		p, err := Parse("n.yaml", []byte(tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		err = p.Validate(append(slices.Clone(p.Scenarios), "nemesis"))
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("Validate = %v, want a *ValidationError", err)
		}
		if got := strings.Split(ve.Error(), "\n"); !slices.Equal(got, tc.want) {
			t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}
