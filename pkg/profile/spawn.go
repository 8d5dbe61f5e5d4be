package profile

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Spawn is the cluster.spawn section: how to start, watch and stop the
// broker processes of a spawn-mode cluster. Every string in Command, Env,
// Files and Ready is a Go text/template rendered per node with a
// TemplateNode.
type Spawn struct {
	// Command is the node's program and its arguments, e.g.
	// ["{{.Env.CHRONIK_BIN}}", "start", "--config", "{{.File \"node.toml\"}}"].
	Command []string `yaml:"command"`
	// Env is added to the runner's environment for every node.
	Env map[string]string `yaml:"env"`
	// Files are rendered per node into the node's work dir, by file name.
	Files map[string]string `yaml:"files"`
	// Ports names the ports each node needs, e.g. [kafka, wal, raft, http].
	Ports []string `yaml:"ports"`
	// PortBases fixes a port: node N (N from 1) gets base+N-1. Ports
	// without a base are allocated free on 127.0.0.1.
	PortBases map[string]int `yaml:"port_bases"`
	// KafkaPort names the port clients bootstrap from.
	KafkaPort string `yaml:"kafka_port"`
	// Ready is an optional probe a node must answer, besides the Kafka check.
	Ready SpawnReady `yaml:"ready"`
	// Stop says how a node is asked to stop.
	Stop SpawnStop `yaml:"stop"`
	// Logs says which lines of the nodes' logs fail the run.
	Logs SpawnLogs `yaml:"logs"`
	// WorkDir is where each run's fresh work dir is made; empty: the system's temp dir.
	WorkDir string `yaml:"work_dir"`
	// Placement is a shell command template, rendered per node with the
	// node's fields and {{.Topic}}, that prints which partitions of the
	// topic the node physically holds (see README: replica placement).
	Placement string `yaml:"placement"`
}

// SpawnReady is the optional readiness probe of a node.
type SpawnReady struct {
	// HTTP is a URL template that must answer GET with a 2xx status.
	HTTP string `yaml:"http"`
}

// SpawnStop is how a node is stopped: Signal to its process group, then
// SIGKILL if it still runs after Grace.
type SpawnStop struct {
	Signal string   `yaml:"signal"`
	Grace  Duration `yaml:"grace"`
}

// SpawnLogs turns lines of the nodes' logs into findings and counts.
type SpawnLogs struct {
	// FailOn are regular expressions; a matching line fails the run.
	FailOn []string `yaml:"fail_on"`
	// Ignore are regular expressions for known noise: a matching line is never a finding.
	Ignore []string `yaml:"ignore"`
	// Grace is how long after a node starts matching lines are noted, not failed.
	Grace Duration `yaml:"grace"`
	// Count maps a name to a regular expression; matching lines are counted per node.
	Count map[string]string `yaml:"count"`
}

// Defaults of the spawn section.
const (
	DefaultStopSignal = "TERM"
	DefaultStopGrace  = 10 * time.Second
	DefaultKafkaPort  = "kafka"
)

// StopSignals are the signal names spawn.stop.signal accepts.
var StopSignals = []string{"TERM", "INT", "QUIT", "HUP", "KILL", "USR1", "USR2"}

// StopSignal returns the stop signal's name without a "SIG" prefix, e.g. "TERM".
func (s SpawnStop) StopSignal() string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s.Signal)), "SIG")
}

// defaultSpawn returns the spawn section's defaults.
func defaultSpawn() Spawn {
	return Spawn{
		KafkaPort: DefaultKafkaPort,
		Stop:      SpawnStop{Signal: DefaultStopSignal, Grace: Duration{DefaultStopGrace}},
	}
}

// given reports whether the profile says anything about spawned processes.
func (s *Spawn) given() bool {
	return len(s.Command) > 0 || len(s.Files) > 0 || len(s.Ports) > 0 || len(s.Env) > 0 ||
		len(s.PortBases) > 0 || s.Ready.HTTP != "" || len(s.Logs.FailOn) > 0 || s.WorkDir != "" || s.Placement != ""
}

var (
	portNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	envNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// validateSpawn adds the problems of the cluster.spawn section (spawn mode only).
func (v *validator) validateSpawn() {
	c := &v.p.Cluster
	s := &c.Spawn
	const k = "cluster.spawn"
	if !s.given() {
		v.add(k, "spawn mode needs a spawn section: at least command and ports (see configs/chronik-3x3.yaml)")
		return
	}
	if len(c.Bootstrap) > 0 {
		v.add("cluster.bootstrap", "bootstrap is only for attach mode: a spawned cluster is reached at its nodes' %s ports", s.KafkaPort)
	}
	if len(c.Ports) > 0 {
		v.add("cluster.ports", "ports are for embedded mode; a spawned cluster takes cluster.spawn.ports and cluster.spawn.port_bases")
	}

	if len(s.Command) == 0 || strings.TrimSpace(s.Command[0]) == "" {
		v.add(k+".command", "must name the program to start, e.g. [\"{{.Env.CHRONIK_BIN}}\", \"start\"]")
	}

	portsOK := true
	if len(s.Ports) == 0 {
		v.add(k+".ports", "must name at least the port clients bootstrap from, e.g. [kafka]")
		portsOK = false
	}
	seen := map[string]bool{}
	for i, name := range s.Ports {
		key := fmt.Sprintf("%s.ports[%d]", k, i)
		switch {
		case !portNameRE.MatchString(name):
			v.add(key, "%q is not a port name: use lower-case letters, digits and _, starting with a letter", name)
			portsOK = false
		case seen[name]:
			v.add(key, "%q is listed twice", name)
			portsOK = false
		}
		seen[name] = true
	}
	if len(s.Ports) > 0 && !seen[s.KafkaPort] {
		v.add(k+".kafka_port", "%q is not one of cluster.spawn.ports (%s)", s.KafkaPort, strings.Join(s.Ports, ", "))
		portsOK = false
	}
	fixed := map[int]string{} // port -> "name of node N"
	for _, name := range sortedKeys(s.PortBases) {
		base := s.PortBases[name]
		key := k + ".port_bases." + name
		if !seen[name] {
			v.add(key, "%q is not one of cluster.spawn.ports (%s)", name, strings.Join(s.Ports, ", "))
			portsOK = false
			continue
		}
		if c.Nodes < 1 {
			continue
		}
		if last := base + c.Nodes - 1; base < 1 || last > 65535 {
			v.add(key, "%d..%d (one port per node) is not within 1..65535", base, last)
			portsOK = false
			continue
		}
		for n := 1; n <= c.Nodes; n++ {
			port := base + n - 1
			if other, dup := fixed[port]; dup {
				v.add(key, "port %d of node %d is also %s: give the bases ranges that do not overlap", port, n, other)
				portsOK = false
				break
			}
			fixed[port] = fmt.Sprintf("%s of node %d", name, n)
		}
	}

	for _, name := range sortedKeys(s.Env) {
		if !envNameRE.MatchString(name) {
			v.add(k+".env."+name, "%q is not an environment variable name", name)
		}
	}
	for _, name := range sortedKeys(s.Files) {
		if msg := checkFileName(name); msg != "" {
			v.add(k+".files."+name, "%s", msg)
		}
	}

	if sig := s.Stop.StopSignal(); !slices.Contains(StopSignals, sig) {
		v.add(k+".stop.signal", "%q is not a signal this runner sends: use one of %s", s.Stop.Signal, strings.Join(StopSignals, ", "))
	}
	if s.Stop.Grace.Duration < 0 {
		v.add(k+".stop.grace", "must not be negative, not %s", s.Stop.Grace)
	}
	if s.Logs.Grace.Duration < 0 {
		v.add(k+".logs.grace", "must not be negative, not %s", s.Logs.Grace)
	}
	for i, re := range s.Logs.FailOn {
		if _, err := regexp.Compile(re); err != nil {
			v.add(fmt.Sprintf("%s.logs.fail_on[%d]", k, i), "%q is not a regular expression: %v", re, reError(err))
		}
	}
	for i, re := range s.Logs.Ignore {
		if _, err := regexp.Compile(re); err != nil {
			v.add(fmt.Sprintf("%s.logs.ignore[%d]", k, i), "%q is not a regular expression: %v", re, reError(err))
		}
	}
	for _, name := range sortedKeys(s.Logs.Count) {
		if _, err := regexp.Compile(s.Logs.Count[name]); err != nil {
			v.add(k+".logs.count."+name, "%q is not a regular expression: %v", s.Logs.Count[name], reError(err))
		}
	}

	// Parse every template, then render them all with stand-in ports, paths
	// and environment: an unknown port or file name, a misspelt field or a
	// bad URL shows now rather than after start-up. They are rendered for
	// the first, second and last node, each with every node as a peer: the
	// time this takes grows with the nodes, not with their square (which
	// rendering {{range .Peers}} for every node would), and a template
	// that fails for some other node alone still fails before any starts.
	if _, errs := s.compile(); len(errs) > 0 {
		for _, e := range errs {
			v.add(e.key, "%s", e.msg)
		}
		return
	}
	if v.p.Faults.Network && !s.CallsClientAddr() {
		v.add("faults.network", "no template of cluster.spawn calls {{.ClientAddr %q}}: the nodes would advertise their own addresses and the runner's clients would go around its proxies; advertise the node's Kafka listener as {{.ClientAddr %q}} (see configs/chronik-3x3.yaml)", s.KafkaPort, s.KafkaPort)
	}
	if !portsOK || c.Nodes < 1 || c.Nodes > MaxSpawnNodes {
		return
	}
	tmpl, err := s.Compile()
	if err != nil {
		return // reported above
	}
	nodes := s.placeholderNodes(c.Nodes)
	sample := []*TemplateNode{nodes[0]}
	if len(nodes) > 1 {
		sample = append(sample, nodes[1])
	}
	if len(nodes) > 2 {
		sample = append(sample, nodes[len(nodes)-1])
	}
	reported := map[string]bool{}
	for _, n := range sample {
		r, err := tmpl.RenderContext(v.ctx, n)
		if err != nil {
			te, ok := err.(*TemplateError)
			if ok && !reported[te.Key] {
				reported[te.Key] = true
				v.add(te.Key, "%s", te.Msg)
			}
			if ok && te.stopped {
				break
			}
			continue
		}
		if s.Placement != "" && !reported[k+".placement"] {
			if _, err := s.RenderPlacement(n, "example-topic"); err != nil {
				reported[k+".placement"] = true
				v.add(k+".placement", "%s", err.(*TemplateError).Msg)
			}
		}
		if r.ReadyURL != "" && !reported[k+".ready.http"] {
			if msg := checkProbeURL(r.ReadyURL); msg != "" {
				reported[k+".ready.http"] = true
				v.add(k+".ready.http", "%s", msg)
			}
		}
	}
}

// checkFileName says what is wrong with a spawn.files name, or "" if nothing.
func checkFileName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "a file needs a name"
	case strings.HasPrefix(name, "/") || strings.Contains(name, `\`):
		return fmt.Sprintf("%q must be a relative path with / separators: files are written into each node's work dir", name)
	case path.Clean(name) != name || name == "." || strings.HasPrefix(name, "../") || name == "..":
		return fmt.Sprintf("%q must be a clean path inside the node's work dir (no . or .. parts)", name)
	case name == "data" || strings.HasPrefix(name, "data/"):
		return fmt.Sprintf("%q is inside data/, the node's data dir: name the file elsewhere", name)
	}
	return ""
}

// checkProbeURL says what is wrong with a rendered ready.http URL, or "" if nothing.
func checkProbeURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q is not a URL: %v", raw, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must be an http:// or https:// URL", raw)
	case u.Host == "":
		return fmt.Sprintf("%q has no host", raw)
	}
	return ""
}

// reError shortens a regexp error to what is wrong.
func reError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "error parsing regexp: "); i >= 0 {
		msg = msg[i+len("error parsing regexp: "):]
	}
	return msg
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validateNotSpawn adds the problems of cluster.ports and of a spawn
// section in embedded and attach mode.
func (v *validator) validateNotSpawn() {
	c := &v.p.Cluster
	if c.Mode == ModeEmbedded && c.Spawn.given() {
		v.add("cluster.spawn", "the spawn section is only used in spawn mode (cluster.mode is embedded): set cluster.mode: spawn, or remove it")
	}
	if len(c.Ports) == 0 {
		return
	}
	if c.Mode != ModeEmbedded {
		v.add("cluster.ports", "ports are only for embedded mode (cluster.mode is %s)", c.Mode)
		return
	}
	if c.Nodes >= 1 && len(c.Ports) != c.Nodes {
		v.add("cluster.ports", "lists %d ports for %d nodes: give one port per node", len(c.Ports), c.Nodes)
	}
	seen := map[int]bool{}
	for i, port := range c.Ports {
		key := fmt.Sprintf("cluster.ports[%d]", i)
		switch {
		case port < 1 || port > 65535:
			v.add(key, "port %d is not in 1..65535", port)
		case seen[port]:
			v.add(key, "port %d is listed twice", port)
		}
		seen[port] = true
	}
}
