// Package profile reads, validates and overrides the YAML profiles that say
// what cluster to test and how.
package profile

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Cluster modes.
const (
	ModeEmbedded = "embedded"
	ModeAttach   = "attach"
	ModeSpawn    = "spawn"
)

// Profile is one test profile: the cluster, the topic, the workload and the scenarios.
type Profile struct {
	Name      string   `yaml:"name"`
	Cluster   Cluster  `yaml:"cluster"`
	Topic     Topic    `yaml:"topic"`
	Workload  Workload `yaml:"workload"`
	Timeouts  Timeouts `yaml:"timeouts"`
	Scenarios []string `yaml:"scenarios"`
	// Thresholds are expressions over named metrics ("produce.p99_ms < 50")
	// that every run must meet; see thresholds.go.
	Thresholds []string `yaml:"thresholds"`
	// Baseline says how a run is compared with a baseline run.
	Baseline Baseline `yaml:"baseline"`
	// Faults says where the fault scenarios strike and how; see faults.go.
	Faults Faults `yaml:"faults"`
	// Transactions says what the transactions scenario writes; see transactions.go.
	Transactions Transactions `yaml:"transactions"`
	// Storm says how the topic-storm scenario loads the catalog; see storm.go.
	Storm Storm `yaml:"storm"`
	// AllowNotApplicable lets a listed scenario that cannot run on this
	// cluster (a fault scenario without node control) leave its guarantee
	// untested without failing the run; the report names what went untested.
	AllowNotApplicable bool `yaml:"allow_not_applicable"`

	// Source is where the profile was read from (a path, or "builtin:NAME"); not a YAML key.
	Source string `yaml:"-"`
	// Digest is "sha256:<hex>" of the profile's YAML as read; empty for Default().
	Digest string `yaml:"-"`
	// Shadows names the built-in profile ("builtin:3x3.yaml") that the local
	// file read instead has the name of; empty when none.
	Shadows string `yaml:"-"`

	// lines maps a dotted key ("topic.partitions", "scenarios[1]") to its
	// line in the YAML; nil when the profile did not come from YAML.
	lines map[string]int
	// flags maps a dotted key to the CLI flag ("--partitions") that set it.
	flags map[string]string
	// decodeProblems are the unknown keys and badly typed values Parse found;
	// Validate reports them together with every other problem.
	decodeProblems []Problem
}

// Cluster says which cluster to test.
type Cluster struct {
	Mode      string   `yaml:"mode"`
	Nodes     int      `yaml:"nodes"`
	Bootstrap []string `yaml:"bootstrap"`
	// Ports fixes the embedded brokers' ports, one per node; empty: free ports.
	Ports []int `yaml:"ports"`
	// KafkaVersion is the protocol version the client speaks: a Kafka
	// release ("3.6.0", "2.8", "0.11.0"), or "auto" to choose the newest the
	// brokers accept (see kafka.Resolve).
	KafkaVersion string `yaml:"kafka_version"`
	// Spawn says how to start and watch the broker processes of spawn mode.
	Spawn Spawn `yaml:"spawn"`
	// TLS and SASL say how to reach a secured cluster; see security.go.
	TLS  TLS  `yaml:"tls"`
	SASL SASL `yaml:"sasl"`
}

// Topic is the topic the scenarios create and use.
type Topic struct {
	Name              string `yaml:"name"`
	Partitions        int    `yaml:"partitions"`
	ReplicationFactor int    `yaml:"replication_factor"`
	// Delete says when the runner deletes the topic it created: on-pass,
	// always or never; empty: on-pass in attach and spawn mode, never in
	// embedded mode (the cluster goes away with the run). See topic.go.
	Delete string `yaml:"delete"`
	// Existing runs against the topic Name that exists already: the runner
	// checks its shape, reads from its end offsets at the start, and never
	// deletes it.
	Existing bool `yaml:"existing"`
}

// Workload is what the produce and consume scenarios send and read.
type Workload struct {
	Messages   int    `yaml:"messages"`
	Keys       int    `yaml:"keys"`
	ValueBytes int    `yaml:"value_bytes"`
	Acks       string `yaml:"acks"`
	// Producers is how many producers send at once; each sends its own
	// keys, so every key keeps one producer's order.
	Producers int `yaml:"producers"`
	// Rate is the target send rate in messages per second over all
	// producers; 0 sends as fast as the cluster takes them.
	Rate int `yaml:"rate"`
	// ConcurrentConsume reads every partition while producing, which
	// measures end-to-end latency (send to read).
	ConcurrentConsume bool `yaml:"concurrent_consume"`
	// ReplicaReads makes consume also read every partition from every
	// replica (KIP-392 follower fetch) and compare each with its leader.
	ReplicaReads bool `yaml:"replica_reads"`
	// Engine is how the producers send: EngineBatch (record batches on
	// sarama's protocol layer) or EngineSarama (sarama's AsyncProducer,
	// which idempotent and retrying producers use whatever Engine says).
	Engine string `yaml:"engine"`
	// Compression is the producers' codec: none, gzip, snappy, lz4 or zstd.
	Compression string `yaml:"compression"`
}

// Compressions are the values of workload.compression.
var Compressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// Producer engines, the values of workload.engine.
const (
	EngineBatch  = "batch"
	EngineSarama = "sarama"
)

// Timeouts bound how long the runner waits for the cluster and for each scenario.
type Timeouts struct {
	ClusterReady Duration `yaml:"cluster_ready"`
	Scenario     Duration `yaml:"scenario"`
	// Settle is how long a topic's end offsets must stay unchanged before
	// the final audit reads what appeared after producing stopped.
	Settle Duration `yaml:"settle"`
}

// DefaultSource is the Source of the profile returned by Default.
const DefaultSource = "builtin:default"

// Default returns the built-in profile used when no profile is given.
// Every call returns a fresh copy.
func Default() *Profile {
	return &Profile{
		Name: "default",
		Cluster: Cluster{
			Mode:         ModeEmbedded,
			Nodes:        3,
			Bootstrap:    []string{},
			KafkaVersion: "auto",
			Spawn:        defaultSpawn(),
		},
		Topic: Topic{Name: "", Partitions: 3, ReplicationFactor: 3},
		Workload: Workload{
			Messages:    1000,
			Keys:        100,
			ValueBytes:  100,
			Acks:        "all",
			Producers:   1,
			Engine:      EngineBatch,
			Compression: "none",
		},
		Timeouts: Timeouts{
			ClusterReady: Duration{60 * time.Second},
			Scenario:     Duration{120 * time.Second},
			Settle:       Duration{2 * time.Second},
		},
		Scenarios:    []string{"topic-create", "produce", "consume", "metadata"},
		Baseline:     DefaultBaseline(),
		Faults:       DefaultFaults(),
		Transactions: DefaultTransactions(),
		Storm:        DefaultStorm(),
		Source:       DefaultSource,
	}
}

// normalize rewrites equivalent values to one spelling: acks "-1" becomes "all".
func (p *Profile) normalize() {
	if strings.TrimSpace(p.Workload.Acks) == "-1" {
		p.Workload.Acks = "all"
	}
}

// Duration is a time.Duration written in YAML as "60s", "2m".
type Duration struct{ time.Duration }

// String formats d without trailing zero units: "2m" rather than "2m0s".
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML reads a duration such as "60s" or "2m"; a bare number is an error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: not a duration like 60s or 2m", n.Line)
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 60s or 2m", n.Line, s)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes d as a string such as "2m".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes d as a JSON string such as "2m".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string such as "2m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"60s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration like 60s or 2m", s)
	}
	d.Duration = v
	return nil
}
