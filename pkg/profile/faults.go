package profile

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// Faults says where the fault scenarios strike, how hard they drive the
// cluster meanwhile, how long they wait for it to heal, and, for an attached
// cluster, the commands that control its nodes.
type Faults struct {
	// Target is the node a fault hits: leader-of-most, node:<id> or random.
	Target string `yaml:"target"`
	// Seed makes random choices replayable; 0 picks a seed, which the report prints.
	Seed int `yaml:"seed"`
	// Rate is messages per second produced while faults happen.
	Rate int `yaml:"rate"`
	// Warmup is how long to produce before the first fault.
	Warmup Duration `yaml:"warmup"`
	// Settle is how long to keep producing once the cluster has healed.
	Settle Duration `yaml:"settle"`
	// ElectionTimeout is how long a partition may be without a leader after a fault.
	ElectionTimeout Duration `yaml:"election_timeout"`
	// RecoveryTimeout is how long a restarted node may take to be back in every ISR.
	RecoveryTimeout Duration `yaml:"recovery_timeout"`
	// ISRTimeout is how long a node killed, stopped or paused may still be
	// listed in a partition's in-sync replicas before the ISR counts as lying.
	ISRTimeout Duration `yaml:"isr_timeout"`
	// Consumers is how many consumers the consumer-group scenario starts.
	Consumers int `yaml:"consumers"`
	// SessionTimeout is the consumer group's session timeout.
	SessionTimeout Duration `yaml:"session_timeout"`
	// Network puts a link proxy the runner owns on every link between the
	// spawned nodes and between the runner and each node (spawn mode), so
	// that network faults can cut, slow or shake them. The templates say
	// where: {{$.LinkAddr .ID "raft"}} and {{.ClientAddr "kafka"}}.
	Network bool `yaml:"network"`
	// CutMode is how a network cut treats connections: reset (close them,
	// refuse new ones) or drop (hold them open, pass nothing).
	CutMode string `yaml:"cut_mode"`
	// Duration is how long the nemesis strikes; Interval how often.
	Duration Duration `yaml:"duration"`
	Interval Duration `yaml:"interval"`
	// Nemesis lists the faults the nemesis picks from (NemesisFaults).
	Nemesis []string `yaml:"nemesis"`
	// Hooks control the nodes of an attached cluster.
	Hooks Hooks `yaml:"hooks"`
}

// Hooks are shell commands (templates with {{.ID}}, {{.Addr}}, {{.Host}},
// {{.Port}}, {{.Op}}) that control one node of an attached cluster; empty:
// not available.
type Hooks struct {
	Kill   string `yaml:"kill"`
	Stop   string `yaml:"stop"`
	Start  string `yaml:"start"`
	Pause  string `yaml:"pause"`
	Resume string `yaml:"resume"`
	// Placement prints which partitions of {{.Topic}} node {{.ID}}
	// physically holds (see README: replica placement); not a node operation.
	Placement string `yaml:"placement"`
	// Stats prints node {{.ID}}'s resource use as key=value words
	// (rss_mb or rss_bytes, cpu_pct, fds), run for every node every
	// StatsInterval (0: every 5s); not a node operation.
	Stats         string   `yaml:"stats"`
	StatsInterval Duration `yaml:"stats_interval"`
	// Partition cuts node {{.ID}} off from {{.Peers}} both ways; Heal
	// undoes it. Not node operations: the network faults of an attached
	// cluster (see README: network faults).
	Partition string   `yaml:"partition"`
	Heal      string   `yaml:"heal"`
	Timeout   Duration `yaml:"timeout"`
}

// HookCommand is one hook: the operation's name and its command template.
type HookCommand struct{ Op, Command string }

// Commands returns the hooks that are set, in the order kill, stop, start, pause, resume.
func (h Hooks) Commands() []HookCommand {
	var out []HookCommand
	for _, c := range []HookCommand{{"kill", h.Kill}, {"stop", h.Stop}, {"start", h.Start}, {"pause", h.Pause}, {"resume", h.Resume}} {
		if strings.TrimSpace(c.Command) != "" {
			out = append(out, c)
		}
	}
	return out
}

// DefaultFaults returns the faults section a profile gets when it has none.
func DefaultFaults() Faults {
	return Faults{
		Target:          TargetLeaderOfMost,
		Rate:            500,
		Warmup:          Duration{time.Second},
		Settle:          Duration{time.Second},
		ElectionTimeout: Duration{30 * time.Second},
		RecoveryTimeout: Duration{60 * time.Second},
		ISRTimeout:      Duration{30 * time.Second},
		Consumers:       3,
		SessionTimeout:  Duration{10 * time.Second},
		CutMode:         CutReset,
		Duration:        Duration{20 * time.Second},
		Interval:        Duration{4 * time.Second},
		Nemesis:         slices.Clone(NemesisFaults),
		Hooks:           Hooks{Timeout: Duration{time.Minute}, StatsInterval: Duration{5 * time.Second}},
	}
}

// Fault targets.
const (
	TargetLeaderOfMost = "leader-of-most"
	TargetRandom       = "random"
	targetNodePrefix   = "node:"
)

// MaxFaultRate bounds faults.rate.
const MaxFaultRate = 100000

// Target is a parsed faults.target.
type Target struct {
	Kind string // TargetLeaderOfMost, TargetRandom or "node"
	Node int32  // for Kind "node"
}

// ParseTarget parses faults.target: leader-of-most, random or node:<id>.
func ParseTarget(s string) (Target, error) {
	switch s {
	case TargetLeaderOfMost, TargetRandom:
		return Target{Kind: s}, nil
	}
	if rest, ok := strings.CutPrefix(s, targetNodePrefix); ok {
		id, err := strconv.ParseInt(rest, 10, 32)
		if err == nil && id >= 0 {
			return Target{Kind: "node", Node: int32(id)}, nil
		}
		return Target{}, fmt.Errorf("%q: node id %q is not a whole number of at least 0", s, rest)
	}
	return Target{}, fmt.Errorf("%q is not leader-of-most, node:<id> or random", s)
}

// hookData mirrors cluster.HookData: the fields a hook template may use.
type hookData struct {
	ID               int32
	Addr, Host, Port string
	Op               string
	Topic            string
	Peers            []hookPeer
}

// hookPeer mirrors cluster.HookPeer.
type hookPeer struct {
	ID               int32
	Addr, Host, Port string
}

// validateFaults checks the faults section.
func (p *Profile) validateFaults(v *validator) {
	f := p.Faults
	if t, err := ParseTarget(f.Target); err != nil {
		v.add("faults.target", "%v", err)
	} else if t.Kind == "node" && p.Cluster.Mode == ModeEmbedded && p.Cluster.Nodes >= 1 && int(t.Node) >= p.Cluster.Nodes {
		v.add("faults.target", "node %d is not in the embedded cluster, whose nodes are 0..%d", t.Node, p.Cluster.Nodes-1)
	}
	if f.Rate < 1 || f.Rate > MaxFaultRate {
		v.add("faults.rate", "must be 1..%d messages per second, not %d", MaxFaultRate, f.Rate)
	}
	type timing struct {
		key    string
		d      Duration
		zeroOK bool
	}
	for _, x := range []timing{
		{"faults.warmup", f.Warmup, true}, {"faults.settle", f.Settle, true},
		{"faults.election_timeout", f.ElectionTimeout, false}, {"faults.recovery_timeout", f.RecoveryTimeout, false},
		{"faults.isr_timeout", f.ISRTimeout, false},
		{"faults.session_timeout", f.SessionTimeout, false}, {"faults.hooks.timeout", f.Hooks.Timeout, false}, {"faults.hooks.stats_interval", f.Hooks.StatsInterval, true},
	} {
		switch {
		case x.zeroOK && x.d.Duration < 0:
			v.add(x.key, "must not be negative, not %s", x.d)
		case !x.zeroOK && x.d.Duration <= 0:
			v.add(x.key, "must be more than 0, not %s", x.d)
		}
	}
	p.validateNemesis(v)
	if f.Consumers < 2 || f.Consumers > 64 {
		v.add("faults.consumers", "must be 2..64 (one consumer leaves the group while the others keep reading), not %d", f.Consumers)
	}
	for _, h := range f.Hooks.Commands() {
		t, err := template.New(h.Op).Option("missingkey=error").Parse(h.Command)
		if err == nil {
			err = t.Execute(new(bytes.Buffer), hookData{ID: 1, Addr: "broker-1:9092", Host: "broker-1", Port: "9092", Op: h.Op})
		}
		if err != nil {
			v.add("faults.hooks."+h.Op, "not a command template (fields: {{.ID}}, {{.Addr}}, {{.Host}}, {{.Port}}, {{.Op}}): %v", err)
		}
	}
	if h := f.Hooks.Stats; strings.TrimSpace(h) != "" {
		t, err := template.New("stats").Option("missingkey=error").Parse(h)
		if err == nil {
			err = t.Execute(new(bytes.Buffer), hookData{ID: 1, Addr: "broker-1:9092", Host: "broker-1", Port: "9092", Op: "stats"})
		}
		if err != nil {
			v.add("faults.hooks.stats", "not a command template (fields: {{.ID}}, {{.Addr}}, {{.Host}}, {{.Port}}): %v", err)
		}
		if p.Cluster.Mode != ModeAttach {
			v.add("faults.hooks.stats", "is for attach mode: in %s mode the nodes are read from /proc (spawn) or have no process of their own (embedded); remove it, or attach with --bootstrap", p.Cluster.Mode)
		}
	}
	partition, heal := strings.TrimSpace(f.Hooks.Partition) != "", strings.TrimSpace(f.Hooks.Heal) != ""
	for _, h := range []HookCommand{{"partition", f.Hooks.Partition}, {"heal", f.Hooks.Heal}} {
		if strings.TrimSpace(h.Command) == "" {
			continue
		}
		t, err := template.New(h.Op).Option("missingkey=error").Parse(h.Command)
		if err == nil {
			peers := []hookPeer{{ID: 2, Addr: "broker-2:9092", Host: "broker-2", Port: "9092"}}
			err = t.Execute(new(bytes.Buffer), hookData{ID: 1, Addr: "broker-1:9092", Host: "broker-1", Port: "9092", Op: h.Op, Peers: peers})
		}
		if err != nil {
			v.add("faults.hooks."+h.Op, "not a command template (fields: {{.ID}}, {{.Addr}}, {{.Host}}, {{.Port}}, {{.Op}}, {{.Peers}}, each peer with .ID, .Addr, .Host, .Port): %v", err)
		}
	}
	switch {
	case partition && !heal:
		v.add("faults.hooks.partition", "needs faults.hooks.heal too: every partition is healed when its scenario ends")
	case heal && !partition:
		v.add("faults.hooks.heal", "is only used with faults.hooks.partition: set both, or neither")
	}
	if f.Network && p.Cluster.Mode == ModeEmbedded {
		v.add("faults.network", "is for spawn mode: the embedded cluster has no links between its nodes to put proxies on; remove it, or use cluster.mode: spawn")
	}
	if h := f.Hooks.Placement; strings.TrimSpace(h) != "" {
		t, err := template.New("placement").Option("missingkey=error").Parse(h)
		if err == nil {
			err = t.Execute(new(bytes.Buffer), hookData{ID: 1, Addr: "broker-1:9092", Host: "broker-1", Port: "9092", Op: "placement", Topic: "example"})
		}
		if err != nil {
			v.add("faults.hooks.placement", "not a command template (fields: {{.ID}}, {{.Addr}}, {{.Host}}, {{.Port}}, {{.Topic}}): %v", err)
		}
	}
}
