package profile

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/configs"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"gopkg.in/yaml.v3"
)

var known = []string{"topic-create", "produce", "consume", "metadata"}

// problemsOf returns the problems inside err, failing unless err is a usage
// error (exit 2) carrying a *ValidationError.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want problems")
	}
	if code := exitcode.Code(err); code != exitcode.Usage {
		t.Errorf("exit code = %d, want %d", code, exitcode.Usage)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %q is not a *ValidationError", err)
	}
	return ve.Problems
}

// wantProblem fails unless err holds exactly one problem, at key wantKey
// with a message containing wantMsg; with wantKey "", unless err is nil.
func wantProblem(t *testing.T, err error, wantKey, wantMsg string) {
	t.Helper()
	if wantKey == "" {
		if err != nil {
			t.Fatalf("Validate: %v, want no problems", err)
		}
		return
	}
	problems := problemsOf(t, err)
	if len(problems) != 1 {
		t.Fatalf("got %d problems, want 1:\n%v", len(problems), err)
	}
	if pr := problems[0]; pr.Key != wantKey || !strings.Contains(pr.Msg, wantMsg) {
		t.Errorf("problem = %+v\nwant key %q and message containing %q", pr, wantKey, wantMsg)
	}
}

// mustParse parses a profile that must decode without problems.
func mustParse(t *testing.T, source, text string) *Profile {
	t.Helper()
	p, err := Parse(source, []byte(text))
	if err != nil {
		t.Fatalf("Parse(%s): %v", source, err)
	}
	return p
}

// ptr returns a pointer to n.
func ptr(n int) *int { return &n }

func TestDefault(t *testing.T) {
	p := Default()
	want := &Profile{
		Name:         "default",
		Cluster:      Cluster{Mode: ModeEmbedded, Nodes: 3, Bootstrap: []string{}, KafkaVersion: "auto", Spawn: defaultSpawn()},
		Topic:        Topic{Name: "", Partitions: 3, ReplicationFactor: 3},
		Workload:     Workload{Messages: 1000, Keys: 100, ValueBytes: 100, Acks: "all", Producers: 1, Engine: EngineBatch, Compression: "none"},
		Timeouts:     Timeouts{ClusterReady: Duration{60 * time.Second}, Scenario: Duration{120 * time.Second}, Settle: Duration{2 * time.Second}},
		Scenarios:    []string{"topic-create", "produce", "consume", "metadata"},
		Faults:       DefaultFaults(),
		Transactions: DefaultTransactions(),
		Storm:        DefaultStorm(),
		Baseline:     DefaultBaseline(),
		Source:       DefaultSource,
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Default() = %+v\nwant %+v", p, want)
	}
	if err := p.Validate(known); err != nil {
		t.Errorf("Default().Validate: %v", err)
	}
	p.Scenarios[0] = "changed"
	if Default().Scenarios[0] != "topic-create" {
		t.Error("Default() shares its scenarios slice between calls")
	}
}

func TestEmbeddedConfigs(t *testing.T) {
	if got := configs.Names(); !slices.Equal(got, []string{"3x3", "3x9", "chronik-3x3", "chronik-partition", "chronik-storm", "chronik-txn", "failover", "partition", "replication", "scale", "storm", "txn"}) {
		t.Errorf("configs.Names() = %v, want [3x3 3x9 chronik-3x3 chronik-partition chronik-storm chronik-txn failover partition replication scale storm txn]", got)
	}
	tests := []struct {
		ref      string
		name     string
		parts    int
		messages int
	}{
		{"3x3", "3x3", 3, 1000},
		{"3x9", "3x9", 9, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			p, err := Load(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Validate(known); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			want := Default()
			want.Topic.Partitions = tt.parts
			want.Workload.Messages = tt.messages
			if p.Name != tt.name || p.Cluster.Mode != want.Cluster.Mode ||
				!reflect.DeepEqual(p.Cluster, want.Cluster) || p.Topic != want.Topic ||
				p.Workload != want.Workload || p.Timeouts != want.Timeouts ||
				!slices.Equal(p.Scenarios, want.Scenarios) {
				t.Errorf("Load(%q) = %+v, want %+v with name %q", tt.ref, p, want, tt.name)
			}
		})
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		name    string
		change  func(p *Profile)
		wantKey string // "" means the profile must be valid
		wantMsg string
	}{
		{"empty name", func(p *Profile) { p.Name = " " }, "name", "must not be empty"},
		{"unknown mode", func(p *Profile) { p.Cluster.Mode = "embeded" }, "cluster.mode", `"embeded" is not a mode`},
		{"empty mode", func(p *Profile) { p.Cluster.Mode = "" }, "cluster.mode", "must be set"},
		{"spawn mode without a spawn section", func(p *Profile) { p.Cluster.Mode = ModeSpawn }, "cluster.spawn", "spawn mode needs a spawn section"},
		{"no nodes", func(p *Profile) { p.Cluster.Nodes = 0 }, "cluster.nodes", "must be at least 1, not 0"},
		{"attach without bootstrap", func(p *Profile) { p.Cluster.Mode = ModeAttach }, "cluster.bootstrap", "attach mode needs at least one host:port"},
		{"attach good", func(p *Profile) {
			p.Cluster.Mode = ModeAttach
			p.Cluster.Bootstrap = []string{"localhost:9092", "10.0.0.1:1", "[::1]:65535"}
		}, "", ""},
		{"bootstrap no port", func(p *Profile) { p.Cluster.Mode, p.Cluster.Bootstrap = ModeAttach, []string{"localhost"} }, "cluster.bootstrap[0]", `"localhost" is not host:port`},
		{"bootstrap no host", func(p *Profile) { p.Cluster.Mode, p.Cluster.Bootstrap = ModeAttach, []string{":9092"} }, "cluster.bootstrap[0]", "has no host"},
		{"bootstrap port text", func(p *Profile) { p.Cluster.Mode, p.Cluster.Bootstrap = ModeAttach, []string{"a:1", "b:kafka"} }, "cluster.bootstrap[1]", `port "kafka" is not a number`},
		{"bootstrap port 0", func(p *Profile) { p.Cluster.Mode, p.Cluster.Bootstrap = ModeAttach, []string{"a:0"} }, "cluster.bootstrap[0]", "port 0 is not in 1..65535"},
		{"bootstrap port too big", func(p *Profile) { p.Cluster.Mode, p.Cluster.Bootstrap = ModeAttach, []string{"a:65536"} }, "cluster.bootstrap[0]", "port 65536 is not in 1..65535"},
		{"embedded with bootstrap", func(p *Profile) { p.Cluster.Bootstrap = []string{"a:1"} }, "cluster.bootstrap", "bootstrap is only for attach mode"},
		{"version auto", func(p *Profile) { p.Cluster.KafkaVersion = "auto" }, "", ""},
		{"version three parts", func(p *Profile) { p.Cluster.KafkaVersion = "3.6.0" }, "", ""},
		{"version two parts", func(p *Profile) { p.Cluster.KafkaVersion = "3.6" }, "", ""},
		{"version 2.8", func(p *Profile) { p.Cluster.KafkaVersion = "2.8" }, "", ""},
		{"version before 1.0, three parts", func(p *Profile) { p.Cluster.KafkaVersion = "0.11.0" }, "", ""},
		{"version before 1.0, four parts", func(p *Profile) { p.Cluster.KafkaVersion = "0.11.0.0" }, "", ""},
		{"version four parts", func(p *Profile) { p.Cluster.KafkaVersion = "0.10.2.1" }, "", ""},
		{"version one part", func(p *Profile) { p.Cluster.KafkaVersion = "3" }, "cluster.kafka_version", `"3" is not a version: use auto, or a Kafka release such as 3.6.0, 3.6, 2.8, 0.11.0 or 0.11.0.0`},
		{"version four parts after 1.0", func(p *Profile) { p.Cluster.KafkaVersion = "3.6.0.0" }, "cluster.kafka_version", `"3.6.0.0" is not a version: use auto`},
		{"version five parts", func(p *Profile) { p.Cluster.KafkaVersion = "0.1.2.3.4" }, "cluster.kafka_version", "is not a version: use auto"},
		{"version word", func(p *Profile) { p.Cluster.KafkaVersion = "latest" }, "cluster.kafka_version", `"latest" is not a version: use auto, or`},
		{"version empty", func(p *Profile) { p.Cluster.KafkaVersion = "" }, "cluster.kafka_version", `"" is not a version: use auto`},
		{"version unknown release", func(p *Profile) { p.Cluster.KafkaVersion = "3.6.9" }, "cluster.kafka_version", `"3.6.9" is not a Kafka release the client knows (0.8.2.0 to `},
		{"version newer than known", func(p *Profile) { p.Cluster.KafkaVersion = "99.0" }, "cluster.kafka_version", `"99.0" is not a Kafka release the client knows`},
		{"topic name legal", func(p *Profile) { p.Topic.Name = "e2e-3x3_a.b" }, "", ""},
		{"topic name 249", func(p *Profile) { p.Topic.Name = strings.Repeat("a", 249) }, "", ""},
		{"topic name 250", func(p *Profile) { p.Topic.Name = strings.Repeat("a", 250) }, "topic.name", "is 250 characters long; the limit is 249"},
		{"topic name dot", func(p *Profile) { p.Topic.Name = "." }, "topic.name", "not allowed"},
		{"topic name dotdot", func(p *Profile) { p.Topic.Name = ".." }, "topic.name", "not allowed"},
		{"topic name space", func(p *Profile) { p.Topic.Name = "a b" }, "topic.name", "may only contain"},
		{"partitions 0", func(p *Profile) { p.Topic.Partitions = 0 }, "topic.partitions", "must be 1..100000, not 0"},
		{"partitions max", func(p *Profile) { p.Topic.Partitions = 100000 }, "", ""},
		{"partitions too many", func(p *Profile) { p.Topic.Partitions = 100001 }, "topic.partitions", "not 100001"},
		{"rf 0", func(p *Profile) { p.Topic.ReplicationFactor = 0 }, "topic.replication_factor", "must be at least 1, not 0"},
		{"rf above nodes", func(p *Profile) { p.Topic.ReplicationFactor = 4 }, "topic.replication_factor", "4 is more than cluster.nodes (3)"},
		{"rf 1 node 1", func(p *Profile) { p.Cluster.Nodes, p.Topic.ReplicationFactor = 1, 1 }, "", ""},
		{"messages 0", func(p *Profile) { p.Workload.Messages = 0 }, "workload.messages", "must be at least 1"},
		{"keys 0", func(p *Profile) { p.Workload.Keys = 0 }, "workload.keys", "must be at least 1"},
		{"value_bytes 31", func(p *Profile) { p.Workload.ValueBytes = 31 }, "workload.value_bytes", "must be at least 32 (the payload header takes 32 bytes), not 31"},
		{"value_bytes 32", func(p *Profile) { p.Workload.ValueBytes = 32 }, "", ""},
		{"value_bytes 1 MiB", func(p *Profile) { p.Workload.ValueBytes = 1 << 20 }, "", ""},
		{"value_bytes above 1 MiB", func(p *Profile) { p.Workload.ValueBytes = 1<<20 + 1 }, "workload.value_bytes", "must be at most 1048576 (1 MiB)"},
		{"acks 0", func(p *Profile) { p.Workload.Acks = "0" }, "", ""},
		{"acks 1", func(p *Profile) { p.Workload.Acks = "1" }, "", ""},
		{"acks -1", func(p *Profile) { p.Workload.Acks = "-1" }, "", ""},
		{"acks 2", func(p *Profile) { p.Workload.Acks = "2" }, "workload.acks", `"2" is not 0, 1 or all`},
		{"acks empty", func(p *Profile) { p.Workload.Acks = "" }, "workload.acks", `"" is not 0, 1 or all`},
		{"producers 0", func(p *Profile) { p.Workload.Producers = 0 }, "workload.producers", "must be 1..64, not 0"},
		{"producers 64", func(p *Profile) { p.Workload.Producers = 64 }, "", ""},
		{"producers 65", func(p *Profile) { p.Workload.Producers = 65 }, "workload.producers", "must be 1..64, not 65"},
		{"producers above keys", func(p *Profile) { p.Workload.Keys, p.Workload.Producers = 4, 5 }, "workload.producers", "5 is more than workload.keys (4): each producer sends its own keys"},
		{"rate 0", func(p *Profile) { p.Workload.Rate = 0 }, "", ""},
		{"rate 50000", func(p *Profile) { p.Workload.Rate = 50000 }, "", ""},
		{"rate negative", func(p *Profile) { p.Workload.Rate = -1 }, "workload.rate", "must be 0 (as fast as possible) or a rate in messages per second, not -1"},
		{"compression", func(p *Profile) { p.Workload.Compression = "brotli" }, "workload.compression", `"brotli" is not a codec: use none, gzip, snappy, lz4, zstd`},
		{"engine empty", func(p *Profile) { p.Workload.Engine = "" }, "workload.engine", `"" is not an engine: use batch (record batches, the default) or sarama (sarama's AsyncProducer)`},
		{"concurrent consume", func(p *Profile) { p.Workload.ConcurrentConsume = true }, "", ""},
		{"cluster_ready 0", func(p *Profile) { p.Timeouts.ClusterReady = Duration{} }, "timeouts.cluster_ready", "must be more than 0, not 0s"},
		{"scenario negative", func(p *Profile) { p.Timeouts.Scenario = Duration{-time.Second} }, "timeouts.scenario", "must be more than 0, not -1s"},
		{"no scenarios", func(p *Profile) { p.Scenarios = nil }, "scenarios", "none listed; list at least one of: topic-create, produce"},
		{"unknown scenario", func(p *Profile) { p.Scenarios = []string{"produce", "prodce"} }, "scenarios[1]", `unknown scenario "prodce" (known: topic-create, produce, consume, metadata)`},
		{"duplicate scenario", func(p *Profile) { p.Scenarios = []string{"produce", "consume", "produce"} }, "scenarios[2]", `"produce" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			tt.change(p)
			wantProblem(t, p.Validate(known), tt.wantKey, tt.wantMsg)
		})
	}
}

// TestKafkaVersionForms: every accepted form of cluster.kafka_version parses
// from YAML; a bad one is reported with its key, its line and the forms.
func TestKafkaVersionForms(t *testing.T) {
	for _, v := range []string{"auto", "0.11.0", "0.11.0.0", "2.8", "3.6.0", `"3.6"`} {
		p := mustParse(t, "v.yaml", "name: v\ncluster:\n  kafka_version: "+v+"\n")
		if err := p.Validate(known); err != nil {
			t.Errorf("kafka_version %s: %v", v, err)
		}
	}
	p := mustParse(t, "v.yaml", "name: v\ncluster:\n  nodes: 3\n  kafka_version: 3.6.0.0\n")
	err := p.Validate(known)
	want := `v.yaml:4: cluster.kafka_version: "3.6.0.0" is not a version: use auto, or a Kafka release such as 3.6.0, 3.6, 2.8, 0.11.0 or 0.11.0.0`
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %s", err, want)
	}
}

func TestValidateReportsAllProblemsAtOnce(t *testing.T) {
	p := mustParse(t, "configs/bad.yaml", `name: bad
cluster:
  mode: attach
  nodes: 3
topic:
  partitions: 0
  replication_factor: 4
workload:
  value_bytes: 8
  acks: 2
scenarios: [produce, produce, nope]
`)
	err := p.Validate(known)
	problems := problemsOf(t, err)
	want := []Problem{
		{Key: "cluster.bootstrap", Msg: "is empty: attach mode needs at least one host:port (an unset variable?)"},
		{Key: "topic.partitions", Line: 6, Msg: "must be 1..100000, not 0"},
		{Key: "topic.replication_factor", Line: 7, Msg: "4 is more than cluster.nodes (3)"},
		{Key: "workload.value_bytes", Line: 9, Msg: "must be at least 32 (the payload header takes 32 bytes), not 8"},
		{Key: "workload.acks", Line: 10, Msg: `"2" is not 0, 1 or all`},
		{Key: "scenarios[1]", Line: 11, Msg: `"produce" is listed twice`},
		{Key: "scenarios[2]", Line: 11, Msg: `unknown scenario "nope" (known: topic-create, produce, consume, metadata)`},
	}
	if !reflect.DeepEqual(problems, want) {
		t.Fatalf("problems =\n%+v\nwant\n%+v", problems, want)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Error() has %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	if lines[0] != "configs/bad.yaml: cluster.bootstrap: is empty: attach mode needs at least one host:port (an unset variable?)" {
		t.Errorf("line 1 = %q", lines[0])
	}
	if lines[2] != "configs/bad.yaml:7: topic.replication_factor: 4 is more than cluster.nodes (3)" {
		t.Errorf("line 3 = %q", lines[2])
	}
}

func TestParseUnknownKeys(t *testing.T) {
	_, err := Parse("3x3.yaml", []byte(`name: 3x3
cluster:
  mode: embedded
  nodes: 3
topic:
  name: ""
  partitons: 3
workload:
  mesages: 5
colour: blue
`))
	problems := problemsOf(t, err)
	want := []string{
		`3x3.yaml:7: unknown key "partitons" in topic (known: name, partitions, replication_factor, delete, existing)`,
		`3x3.yaml:9: unknown key "mesages" in workload (known: messages, keys, value_bytes, acks, producers, rate, concurrent_consume, replica_reads, engine, compression)`,
		`3x3.yaml:10: unknown key "colour" (known: name, cluster, topic, workload, timeouts, scenarios, thresholds, baseline, faults, transactions, storm, allow_not_applicable)`,
	}
	if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("Error() =\n%s\nwant\n%s", err, strings.Join(want, "\n"))
	}
	if len(problems) != 3 || problems[0].Line != 7 || problems[2].Line != 10 {
		t.Errorf("problems = %+v", problems)
	}
}

func TestParseTypeErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"int", "topic:\n  partitions: three\n", `x.yaml:2: topic.partitions: must be a whole number, not "three"`},
		{"duration number", "timeouts:\n  scenario: 120\n", `x.yaml:2: timeouts.scenario: must be a duration like 60s or 2m, not "120"`},
		{"duration word", "timeouts:\n  cluster_ready: soon\n", `x.yaml:2: timeouts.cluster_ready: must be a duration like 60s or 2m, not "soon"`},
		{"list as scalar", "cluster:\n  bootstrap: a:9092\n", `x.yaml:2: cluster.bootstrap: must be a list like [a, b], not "a:9092"`},
		{"string as list", "name: [a, b]\n", `x.yaml:1: name: must be a single value, not a list`},
		{"section as scalar", "topic: 5\n", `x.yaml:1: topic: must be a mapping of keys (name, partitions, replication_factor, delete, existing), not "5"`},
		{"top level list", "- a\n", `x.yaml:1: must be a mapping of keys (name, cluster, topic, workload, timeouts, scenarios, thresholds, baseline, faults, transactions, storm, allow_not_applicable), not a list`},
		{"duplicate key", "topic:\n  partitions: 1\n  partitions: 2\n", `x.yaml:3: key "partitions" in topic is given twice (first on line 2)`},
		{"syntax (yaml.v3 gives the line of the enclosing mapping)", "topic:\n  partitions: 1\n bad\n", `x.yaml:2: did not find expected key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.yaml))
			problemsOf(t, err)
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to start with %q", err, tt.want)
			}
		})
	}
}

func TestParseMissingKeysTakeDefaults(t *testing.T) {
	p := mustParse(t, "somewhere/small.yaml", "topic:\n  partitions: 6\ntimeouts:\n  scenario: 2m\n")
	want := Default()
	want.Name = "small"
	want.Topic.Partitions = 6
	want.Timeouts.Scenario = Duration{2 * time.Minute}
	if p.Name != want.Name || !reflect.DeepEqual(p.Cluster, want.Cluster) || p.Topic != want.Topic ||
		p.Workload != want.Workload || p.Timeouts != want.Timeouts || !slices.Equal(p.Scenarios, want.Scenarios) {
		t.Errorf("got %+v\nwant %+v", p, want)
	}
	if p.Source != "somewhere/small.yaml" {
		t.Errorf("Source = %q", p.Source)
	}
}

// An empty profile, a second document, a custom tag and a value yaml.v3
// would convert (1.5 or 1e12 to a whole number, nothing to zero) are
// problems with their lines, never the defaults or a rounded value.
func TestParseEmptyAndInexact(t *testing.T) {
	for _, tt := range []struct{ name, yaml, want string }{
		{"empty", "", "p.yaml: the profile is empty"},
		{"comments only", "# nothing\n", "p.yaml: the profile is empty"},
		{"tilde", "~\n", "p.yaml: the profile is empty"},
		{"second document", "name: a\n---\nworkload: {messages: bogus}\n", "p.yaml:2: a second YAML document starts here"},
		{"float", "workload:\n  messages: 1.5\n", `p.yaml:2: workload.messages: must be a whole number, not "1.5"`},
		{"exponent", "workload:\n  keys: 1e11\n", `p.yaml:2: workload.keys: must be a whole number, not "1e11"`},
		{"string", "workload:\n  messages: \"100\"\n", `p.yaml:2: workload.messages: must be a whole number, not "100"`},
		{"null", "workload:\n  acks: ~\n", `p.yaml:2: workload.acks: must be a single value, not nothing`},
		{"float in a list", "cluster:\n  ports: [9092, 9093.5]\n", `p.yaml:2: cluster.ports: must be a list like [a, b]`},
		{"custom tag", "name: !foo bar\n", "p.yaml:1: custom tag !foo is not supported"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tt.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %v, want an error starting %q", tt.yaml, err, tt.want)
			}
			if exitcode.Code(err) != exitcode.Usage {
				t.Errorf("exit code %d, want %d", exitcode.Code(err), exitcode.Usage)
			}
		})
	}
}

func TestParseNameAndScenarios(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		wantName  string
		wantScens []string
	}{
		{"name given", "name: mine\n", "mine", known},
		{"name absent", "workload:\n  keys: 5\n", "p", known},
		{"name empty", "name: \"\"\n", "", known},
		{"scenarios replace the default", "scenarios: [produce]\n", "p", []string{"produce"}},
		{"scenarios empty", "scenarios: []\n", "p", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, "p.yaml", tt.yaml)
			if p.Name != tt.wantName || !slices.Equal(p.Scenarios, tt.wantScens) {
				t.Errorf("name %q scenarios %v, want %q %v", p.Name, p.Scenarios, tt.wantName, tt.wantScens)
			}
		})
	}
}

func TestAcksNormalisation(t *testing.T) {
	tests := []struct {
		yaml string
		want string
	}{
		{"acks: all", "all"},
		{"acks: 1", "1"},
		{"acks: 0", "0"},
		{"acks: -1", "all"},
		{`acks: "-1"`, "all"},
		{`acks: "1"`, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			p := mustParse(t, "a.yaml", "workload:\n  "+tt.yaml+"\n")
			if p.Workload.Acks != tt.want {
				t.Errorf("acks = %q, want %q", p.Workload.Acks, tt.want)
			}
			if err := p.Validate(known); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	p := mustParse(t, "a.yaml", "workload:\n  acks: 2\n")
	if err := p.Validate(known); err == nil || err.Error() != `a.yaml:2: workload.acks: "2" is not 0, 1 or all` {
		t.Errorf("acks 2: error = %v", err)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		out  string
	}{
		{"60s", time.Minute, "1m"},
		{"120s", 2 * time.Minute, "2m"},
		{"90s", 90 * time.Second, "1m30s"},
		{"1h", time.Hour, "1h"},
		{"1500ms", 1500 * time.Millisecond, "1.5s"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var d Duration
			if err := yaml.Unmarshal([]byte(tt.in), &d); err != nil {
				t.Fatal(err)
			}
			if d.Duration != tt.want {
				t.Errorf("got %v, want %v", d.Duration, tt.want)
			}
			y, _ := yaml.Marshal(d)
			j, _ := json.Marshal(d)
			if string(y) != tt.out+"\n" || string(j) != `"`+tt.out+`"` {
				t.Errorf("YAML %q JSON %s, want %s", y, j, tt.out)
			}
			var back Duration
			if err := json.Unmarshal(j, &back); err != nil || back != d {
				t.Errorf("JSON round trip: %v, %v", back, err)
			}
		})
	}
	var d Duration
	if err := yaml.Unmarshal([]byte("soon"), &d); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad duration error = %v, want one naming line 1", err)
	}
}

func TestLoadLookup(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	if err := os.MkdirAll(filepath.Join(local, "configs"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(local, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFile("configs/mine.yaml", "topic:\n  partitions: 7\n")
	writeFile("configs/3x3.yaml", "name: local-3x3\n")
	writeFile("plain", "name: plain\n")
	empty := t.TempDir()

	tests := []struct {
		dir, ref   string
		wantSource string
		wantName   string
	}{
		{root, "configs/3x3.yaml", "configs/3x3.yaml", "3x3"},
		{root, "3x3", filepath.Join("configs", "3x3.yaml"), "3x3"},
		{root, "3x3.yaml", filepath.Join("configs", "3x3.yaml"), "3x3"},
		{empty, "3x3", "builtin:3x3.yaml", "3x3"},
		{empty, "3x9.yaml", "builtin:3x9.yaml", "3x9"},
		{local, "mine", filepath.Join("configs", "mine.yaml"), "mine"},
		{local, "3x3", filepath.Join("configs", "3x3.yaml"), "local-3x3"},
		{local, "plain", "plain", "plain"},
		{empty, filepath.Join(local, "configs", "mine.yaml"), filepath.Join(local, "configs", "mine.yaml"), "mine"},
		{empty, "", DefaultSource, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			t.Chdir(tt.dir)
			p, err := Load(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if p.Source != tt.wantSource || p.Name != tt.wantName {
				t.Errorf("Load(%q) in %s: source %q name %q, want %q %q", tt.ref, tt.dir, p.Source, p.Name, tt.wantSource, tt.wantName)
			}
		})
	}
}

// A name with a slash is a path: it never falls back to a built-in profile.
func TestLoadPathNeverBuiltin(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load("configs/3x3.yaml")
	if code := exitcode.Code(err); code != exitcode.Usage {
		t.Fatalf("exit code = %d, want %d (%v)", code, exitcode.Usage, err)
	}
	want := "no profile file configs/3x3.yaml (tried configs/3x3.yaml); a name with a slash is only read as a file: the built-in profiles are named without one (3x3, 3x9, chronik-3x3, chronik-partition, chronik-storm, chronik-txn, failover, partition, replication, scale, storm, txn)"
	if err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

// A local file named like a built-in profile says which one it shadows.
func TestLoadShadows(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.MkdirAll("configs", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("configs", "3x3.yaml"), []byte("name: mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load("3x3")
	if err != nil {
		t.Fatal(err)
	}
	if p.Shadows != "builtin:3x3.yaml" {
		t.Errorf("Shadows = %q, want builtin:3x3.yaml", p.Shadows)
	}
	if p.Digest != "sha256:"+fmt.Sprintf("%x", sha256.Sum256([]byte("name: mine\n"))) {
		t.Errorf("Digest = %q", p.Digest)
	}
	b, err := Load("builtin-free")
	if err == nil || b != nil {
		t.Errorf("Load of an unknown name = %v, %v", b, err)
	}
}

func TestLoadUnknown(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Load("nope")
	if code := exitcode.Code(err); code != exitcode.Usage {
		t.Errorf("exit code = %d, want %d", code, exitcode.Usage)
	}
	want := `no profile "nope": tried nope, configs/nope, configs/nope.yaml, builtin:nope, builtin:nope.yaml; built-in profiles: 3x3, 3x9, chronik-3x3, chronik-partition, chronik-storm, chronik-txn, failover, partition, replication, scale, storm, txn (chronik-e2e profiles lists them)`
	if err == nil || err.Error() != filepath.FromSlash(want) {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestLoadReportsLines(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "3x3.yaml")
	text := "name: 3x3\ncluster:\n  nodes: 3\ntopic:\n  replication_factor: 4\n"
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Validate(known)
	if want := file + ":5: topic.replication_factor: 4 is more than cluster.nodes (3)"; err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
}

func TestOverrides(t *testing.T) {
	tests := []struct {
		name    string
		o       Overrides
		check   func(p *Profile) bool
		wantErr string // "" means valid
	}{
		{"none", Overrides{}, func(p *Profile) bool { return reflect.DeepEqual(p, Default()) }, ""},
		{"bootstrap switches to attach", Overrides{Bootstrap: []string{"k1:9092", "k2:9092"}},
			func(p *Profile) bool {
				return p.Cluster.Mode == ModeAttach && slices.Equal(p.Cluster.Bootstrap, []string{"k1:9092", "k2:9092"})
			}, ""},
		{"bad bootstrap", Overrides{Bootstrap: []string{"k1"}}, nil,
			`cluster.bootstrap[0] (from --bootstrap): "k1" is not host:port`},
		{"acks -1", Overrides{Acks: "-1"}, func(p *Profile) bool { return p.Workload.Acks == "all" }, ""},
		{"bad acks", Overrides{Acks: "2"}, nil, `workload.acks (from --acks): "2" is not 0, 1 or all`},
		{"messages", Overrides{Messages: ptr(5)}, func(p *Profile) bool { return p.Workload.Messages == 5 }, ""},
		{"messages 0 is kept", Overrides{Messages: ptr(0)}, nil, "workload.messages (from --messages): must be at least 1, not 0"},
		{"partitions", Overrides{Partitions: ptr(12)}, func(p *Profile) bool { return p.Topic.Partitions == 12 }, ""},
		{"bad partitions", Overrides{Partitions: ptr(-1)}, nil, "topic.partitions (from --partitions): must be 1..100000, not -1"},
		{"rf", Overrides{ReplicationFactor: ptr(1)}, func(p *Profile) bool { return p.Topic.ReplicationFactor == 1 }, ""},
		{"rf above nodes", Overrides{ReplicationFactor: ptr(4)}, nil,
			"topic.replication_factor (from --replication-factor): 4 is more than cluster.nodes (3)"},
		{"topic", Overrides{Topic: "my-topic"}, func(p *Profile) bool { return p.Topic.Name == "my-topic" }, ""},
		{"bad topic", Overrides{Topic: "my topic"}, nil, `topic.name (from --topic): "my topic" may only contain`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default()
			p.Apply(tt.o)
			if tt.check != nil && !tt.check(p) {
				t.Errorf("after Apply: %+v", p)
			}
			err := p.Validate(known)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate: %v", err)
				}
				return
			}
			problemsOf(t, err)
			if !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to start with %q", err, tt.wantErr)
			}
		})
	}
}

func TestOverrideReplacesLine(t *testing.T) {
	p := mustParse(t, "3x3.yaml", "topic:\n  replication_factor: 3\nworkload:\n  messages: 0\n")
	p.Apply(Overrides{ReplicationFactor: ptr(9)})
	problems := problemsOf(t, p.Validate(known))
	want := []Problem{
		{Key: "topic.replication_factor", Flag: "--replication-factor", Msg: "9 is more than cluster.nodes (3)"},
		{Key: "workload.messages", Line: 4, Msg: "must be at least 1, not 0"},
	}
	if !reflect.DeepEqual(problems, want) {
		t.Errorf("problems = %+v\nwant %+v", problems, want)
	}
}
