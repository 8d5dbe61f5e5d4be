package profile

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
)

// Limits checked by Validate. The memory and file descriptors a run needs
// are checked against the machine's before it starts, too (see the run
// command); these bound what no machine would make sense of.
const (
	MaxMessages = 1_000_000_000 // 16 GB of ledger alone
	MaxKeys     = 10_000_000    // every key is held in memory
	// MaxNodes bounds cluster.nodes: attach mode only talks to them;
	// spawn mode starts a process and renders templates for each; the
	// embedded cluster runs every broker in this process.
	MaxNodes         = 1000
	MaxSpawnNodes    = 256
	MaxEmbeddedNodes = 64
	MaxPartitions    = 100000
	MinValueBytes    = 32      // the payload header takes 32 bytes
	MaxValueBytes    = 1 << 20 // 1 MiB
	MaxTopicNameLen  = 249
	MaxProducers     = 64
)

// Problem is one thing wrong with a profile.
type Problem struct {
	Key  string // dotted key, e.g. "topic.replication_factor"; empty for a problem with the YAML itself
	Line int    // line in the YAML, 0 when unknown or not from YAML
	Flag string // the CLI flag that set the value, e.g. "--replication-factor"; empty if none
	Msg  string // what is wrong
}

// ValidationError lists every problem found in a profile.
type ValidationError struct {
	Source   string // Profile.Source, e.g. "configs/3x3.yaml"
	Problems []Problem
}

// Error prints one problem per line: "SOURCE:LINE: KEY: MSG", or
// "KEY (from --FLAG): MSG" for a value set by a flag.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, pr := range e.Problems {
		var parts []string
		switch {
		case pr.Flag != "":
			// The value came from the command line, not from the file.
		case pr.Line > 0:
			parts = append(parts, fmt.Sprintf("%s:%d", e.Source, pr.Line))
		case e.Source != "":
			parts = append(parts, e.Source)
		}
		key := pr.Key
		if pr.Flag != "" {
			key += " (from " + pr.Flag + ")"
		}
		if key != "" {
			parts = append(parts, key)
		}
		lines[i] = strings.Join(append(parts, pr.Msg), ": ")
	}
	return strings.Join(lines, "\n")
}

var topicNameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// Validate checks every value before anything connects and reports all
// problems at once as a *ValidationError wrapped in exitcode.UsageError
// (exit 2); nil means the profile is good. knownScenarios are the scenario
// names the runner has. Validate also normalises acks "-1" to "all".
func (p *Profile) Validate(knownScenarios []string) error {
	return p.ValidateContext(context.Background(), knownScenarios)
}

// ValidateContext is Validate, which stops rendering the spawn templates
// (and reports so) when ctx ends.
func (p *Profile) ValidateContext(ctx context.Context, knownScenarios []string) error {
	p.normalize()
	v := &validator{p: p, ctx: ctx}

	if strings.TrimSpace(p.Name) == "" {
		v.add("name", "must not be empty")
	}

	c := p.Cluster
	switch c.Mode {
	case ModeEmbedded, ModeAttach:
		v.validateNotSpawn()
	case ModeSpawn:
		v.validateSpawn()
	case "":
		v.add("cluster.mode", "must be set: embedded, attach or spawn")
	default:
		v.add("cluster.mode", "%q is not a mode: use embedded, attach or spawn", c.Mode)
	}
	switch maxNodes := maxNodes(c.Mode); {
	case c.Nodes < 1:
		v.add("cluster.nodes", "must be at least 1, not %d", c.Nodes)
	case c.Nodes > maxNodes:
		v.add("cluster.nodes", "must be at most %d in %s mode, not %d", maxNodes, c.Mode, c.Nodes)
	}
	switch {
	case c.Mode == ModeAttach && len(c.Bootstrap) == 0:
		v.add("cluster.bootstrap", "is empty: attach mode needs at least one host:port (an unset variable?)")
	case c.Mode == ModeAttach:
		for i, addr := range c.Bootstrap {
			if msg := checkHostPort(addr); msg != "" {
				v.add(fmt.Sprintf("cluster.bootstrap[%d]", i), "%s", msg)
			}
		}
	case c.Mode == ModeEmbedded && len(c.Bootstrap) > 0:
		v.add("cluster.bootstrap", "bootstrap is only for attach mode (cluster.mode is embedded)")
	}
	if _, _, err := kafka.ParseVersion(c.KafkaVersion); err != nil {
		v.add("cluster.kafka_version", "%v", err)
	}

	t := p.Topic
	if t.Name != "" {
		switch {
		case t.Name == "." || t.Name == "..":
			v.add("topic.name", "%q is not allowed as a topic name", t.Name)
		case len(t.Name) > MaxTopicNameLen:
			v.add("topic.name", "is %d characters long; the limit is %d", len(t.Name), MaxTopicNameLen)
		case !topicNameRE.MatchString(t.Name):
			v.add("topic.name", "%q may only contain letters, digits, '.', '_' and '-'", t.Name)
		}
	}
	if t.Partitions < 1 || t.Partitions > MaxPartitions {
		v.add("topic.partitions", "must be 1..%d, not %d", MaxPartitions, t.Partitions)
	}
	switch {
	case t.ReplicationFactor < 1:
		v.add("topic.replication_factor", "must be at least 1, not %d", t.ReplicationFactor)
	case c.Nodes >= 1 && t.ReplicationFactor > c.Nodes:
		v.add("topic.replication_factor", "%d is more than cluster.nodes (%d)", t.ReplicationFactor, c.Nodes)
	}

	w := p.Workload
	switch {
	case w.Messages < 1:
		v.add("workload.messages", "must be at least 1, not %d", w.Messages)
	case w.Messages > MaxMessages:
		v.add("workload.messages", "must be at most %d, not %d", MaxMessages, w.Messages)
	}
	switch {
	case w.Keys < 1:
		v.add("workload.keys", "must be at least 1, not %d", w.Keys)
	case w.Keys > MaxKeys:
		v.add("workload.keys", "must be at most %d, not %d", MaxKeys, w.Keys)
	}
	switch {
	case w.ValueBytes < MinValueBytes:
		v.add("workload.value_bytes", "must be at least %d (the payload header takes %d bytes), not %d", MinValueBytes, MinValueBytes, w.ValueBytes)
	case w.ValueBytes > MaxValueBytes:
		v.add("workload.value_bytes", "must be at most %d (1 MiB), not %d", MaxValueBytes, w.ValueBytes)
	}
	switch w.Acks {
	case "0", "1", "all":
	default:
		v.add("workload.acks", "%q is not 0, 1 or all", w.Acks)
	}
	switch {
	case w.Producers < 1 || w.Producers > MaxProducers:
		v.add("workload.producers", "must be 1..%d, not %d", MaxProducers, w.Producers)
	case w.Keys >= 1 && w.Producers > w.Keys:
		v.add("workload.producers", "%d is more than workload.keys (%d): each producer sends its own keys, so that every key keeps one producer's order", w.Producers, w.Keys)
	}
	switch w.Engine {
	case EngineBatch, EngineSarama:
	default:
		v.add("workload.engine", "%q is not an engine: use batch (record batches, the default) or sarama (sarama's AsyncProducer)", w.Engine)
	}
	if !slices.Contains(Compressions, w.Compression) {
		v.add("workload.compression", "%q is not a codec: use %s", w.Compression, strings.Join(Compressions, ", "))
	}
	if w.Rate < 0 {
		v.add("workload.rate", "must be 0 (as fast as possible) or a rate in messages per second, not %d", w.Rate)
	}

	if d := p.Timeouts.ClusterReady; d.Duration <= 0 {
		v.add("timeouts.cluster_ready", "must be more than 0, not %s", d)
	}
	if d := p.Timeouts.Scenario; d.Duration <= 0 {
		v.add("timeouts.scenario", "must be more than 0, not %s", d)
	}
	if d := p.Timeouts.Settle; d.Duration < 0 || d.Duration >= p.Timeouts.Scenario.Duration && p.Timeouts.Scenario.Duration > 0 {
		v.add("timeouts.settle", "must be at least 0 and less than timeouts.scenario (%s), not %s", p.Timeouts.Scenario, d)
	}

	knownList := strings.Join(knownScenarios, ", ")
	if knownList == "" {
		knownList = "none"
	}
	if len(p.Scenarios) == 0 {
		v.add("scenarios", "none listed; list at least one of: %s", knownList)
	}
	seen := map[string]bool{}
	for i, s := range p.Scenarios {
		key := fmt.Sprintf("scenarios[%d]", i)
		switch {
		case seen[s]:
			v.add(key, "%q is listed twice", s)
		case !contains(knownScenarios, s):
			v.add(key, "unknown scenario %q (known: %s)", s, knownList)
		}
		seen[s] = true
	}
	p.validateGate(v)
	p.validateFaults(v)
	p.validateTransactions(v)
	p.validateSecurity(v)
	p.validateTopic(v)
	p.validateStorm(v)

	problems := append(slices.Clone(p.decodeProblems), v.problems...)
	if len(problems) == 0 {
		return nil
	}
	// In file order; values set by flags (no line) come first.
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	err := &exitcode.Error{Code: exitcode.Usage, Err: &ValidationError{Source: p.Source, Problems: problems}}
	citesFile := slices.ContainsFunc(problems, func(pr Problem) bool { return pr.Line > 0 && pr.Flag == "" })
	if name, ok := strings.CutPrefix(p.Source, BuiltinPrefix); ok && citesFile {
		err.Hint = fmt.Sprintf("%s is compiled into chronik-e2e: chronik-e2e profile show %s prints it", p.Source, strings.TrimSuffix(name, ".yaml"))
	}
	return err
}

// maxNodes is the most nodes a cluster of mode may have.
func maxNodes(mode string) int {
	switch mode {
	case ModeEmbedded:
		return MaxEmbeddedNodes
	case ModeSpawn:
		return MaxSpawnNodes
	}
	return MaxNodes
}

// validator collects problems, each with the line or flag of its key.
type validator struct {
	p        *Profile
	ctx      context.Context
	problems []Problem
}

func (v *validator) add(key, format string, args ...any) {
	line, flag := v.p.origin(key)
	v.problems = append(v.problems, Problem{Key: key, Line: line, Flag: flag, Msg: fmt.Sprintf(format, args...)})
}

// origin returns where key's value came from: its YAML line, or the flag
// that set it. A list item ("scenarios[1]") falls back to its list's line.
func (p *Profile) origin(key string) (line int, flag string) {
	base, _, _ := strings.Cut(key, "[")
	if f := p.flags[key]; f != "" { // a list item a flag added (--threshold)
		return 0, f
	}
	if f := p.flags[base]; f != "" {
		return 0, f
	}
	if l := p.lines[key]; l > 0 {
		return l, ""
	}
	return p.lines[base], ""
}

// checkHostPort says what is wrong with a bootstrap address, or "" if nothing.
func checkHostPort(addr string) string {
	if strings.TrimSpace(addr) == "" {
		return "is empty: give host:port (an unset variable, or a stray comma?)"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port", addr)
	}
	if host == "" {
		return fmt.Sprintf("%q has no host", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Sprintf("%q: port %q is not a number", addr, port)
	}
	if n < 1 || n > 65535 {
		return fmt.Sprintf("%q: port %d is not in 1..65535", addr, n)
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
