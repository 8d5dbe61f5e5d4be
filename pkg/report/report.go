// Package report holds the facts of one run and renders them for people
// (a styled terminal report) and for machines (JSON).
package report

import (
	"slices"
	"time"
)

// SchemaVersion is the version of the JSON report; it changes on a breaking change.
const SchemaVersion = 1

// Verdicts of a run (Report.Verdict).
const (
	VerdictPassed      = "PASSED"
	VerdictFailed      = "FAILED"
	VerdictError       = "ERROR" // an internal error: a bug in chronik-e2e
	VerdictInterrupted = "INTERRUPTED"
)

// Report is everything one run found, in the shape of the JSON report.
type Report struct {
	SchemaVersion int    `json:"schema_version"`
	Passed        bool   `json:"passed"`
	Profile       string `json:"profile"`
	// ProfileSource is where the profile was read ("configs/3x3.yaml",
	// "builtin:3x3.yaml"); ProfileDigest is "sha256:<hex>" of its YAML.
	ProfileSource string `json:"profile_source,omitempty"`
	ProfileDigest string `json:"profile_digest,omitempty"`
	// ToolVersion is the chronik-e2e version that ran.
	ToolVersion string `json:"tool_version,omitempty"`
	// Tags are the --tag key=value labels of the run.
	Tags         map[string]string `json:"tags,omitempty"`
	RunID        string            `json:"run_id"`
	StartedAt    time.Time         `json:"started_at"`
	DurationS    float64           `json:"duration_s"`
	Config       Config            `json:"config"`
	Cluster      Cluster           `json:"cluster"`
	Scenarios    []*Scenario       `json:"scenarios"`
	Delivery     Delivery          `json:"delivery"`
	Throughput   Throughput        `json:"throughput"`
	Latency      Latency           `json:"latency_ms"`
	Distribution Distribution      `json:"distribution"`
	Partitions   []Partition       `json:"partitions"`
	Leaders      map[string]int    `json:"leaders"`
	// Produced and Consumed say which parts of the report hold measurements:
	// a run that never produced has no throughput or latency to show.
	Produced bool `json:"produced"`
	Consumed bool `json:"consumed"`
	// AllowNotApplicable is set when the profile lets a scenario that cannot
	// run on this cluster leave its guarantee untested (allow_not_applicable,
	// --allow-not-applicable); without it such a scenario fails the run.
	AllowNotApplicable bool `json:"allow_not_applicable,omitempty"`
	// Untested names the guarantees the run left untested: each scenario
	// not applicable to the cluster, with what it would have checked.
	Untested []string `json:"untested,omitempty"`
	// Error says why the run could not start: the cluster could not be
	// started or reached (exit 3); empty when it ran.
	Error string `json:"error,omitempty"`
	// Interrupted is set when the run was stopped by a signal before it finished.
	Interrupted bool `json:"interrupted,omitempty"`
	// Gate holds the thresholds and the baseline comparison; nil when the
	// run had neither. Passed is false when the gate failed.
	Gate *Gate `json:"gate,omitempty"`
	// EndToEnd is the latency from each message's send to its read, measured
	// when consuming while producing (workload.concurrent_consume); nil otherwise.
	EndToEnd *Latency `json:"end_to_end_latency_ms,omitempty"`
	// TopicCleanup says what became of the run's topic (topic.delete):
	// deleted, kept and why; empty when nothing was to be done.
	TopicCleanup string `json:"topic_cleanup,omitempty"`
	// Faults holds what the fault scenarios did and saw (timeline,
	// unavailability windows, delivery per mode, guarantees); nil when none ran.
	Faults *Faults `json:"faults,omitempty"`
	// Audit is what the consume scenario's final audit found; nil when it did not run.
	Audit *Audit `json:"audit,omitempty"`
	// Verdict is PASSED, FAILED, ERROR (an internal error, a bug in
	// chronik-e2e, stopped the run: exit status 5) or INTERRUPTED; Passed is
	// true only with PASSED. Reports written before it was added have none.
	Verdict string `json:"verdict,omitempty" jsonschema:"enum=PASSED,enum=FAILED,enum=ERROR,enum=INTERRUPTED"`
	// InternalErrors are the panics recovered during the run, each a bug in
	// chronik-e2e, not a finding about the cluster; any one makes the
	// verdict ERROR.
	InternalErrors []InternalError `json:"internal_errors,omitempty"`
	// Transactions is what each transactional scenario found, in the order they ran; empty when none ran.
	Transactions []*Transactions `json:"transactions,omitempty"`
	// Shard says which part of a run group's workload the run was (--shard);
	// nil for a run of its own.
	Shard *Shard `json:"shard,omitempty"`
	// Merged lists the shards' reports a merged report combines (`report
	// merge`); nil for a run's own report.
	Merged []MergedShard `json:"merged,omitempty"`
}

// Shard is one runner's part of a run group (--shard Index/Count
// --run-group Group): the sequence numbers and key indexes it sent.
type Shard struct {
	Group    string `json:"group"`
	Index    int    `json:"index"`
	Count    int    `json:"count"`
	FirstSeq int    `json:"first_seq"`
	LastSeq  int    `json:"last_seq"`
	FirstKey int    `json:"first_key"`
	LastKey  int    `json:"last_key"`
}

// MergedShard is one shard's report in a merged report.
type MergedShard struct {
	// File is the report's file as given to `report merge`.
	File  string `json:"file"`
	Index int    `json:"index"`
	// Verdict is the shard's own; Why, for a shard that did not pass, its
	// failed scenarios and their first finding.
	Verdict string `json:"verdict"`
	Why     string `json:"why,omitempty"`
}

// Config is the part of the profile a reader needs to judge the verdict.
type Config struct {
	Nodes int    `json:"nodes"`
	Topic string `json:"topic"`
	// TopicExisting is set when the run used a topic that existed before it.
	TopicExisting     bool   `json:"topic_existing,omitempty"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	Messages          int    `json:"messages"`
	Keys              int    `json:"keys"`
	ValueBytes        int    `json:"value_bytes"`
	Acks              string `json:"acks"`
	ScenarioTimeout   string `json:"scenario_timeout"`
	// Producers, Rate (msg/s, 0 = as fast as possible) and ConcurrentConsume
	// are the workload's load settings.
	Producers         int  `json:"producers,omitempty"`
	Rate              int  `json:"rate,omitempty"`
	ConcurrentConsume bool `json:"concurrent_consume,omitempty"`
}

// Cluster describes the cluster the run talked to.
type Cluster struct {
	Mode      string   `json:"mode"`
	Bootstrap []string `json:"bootstrap"`
	Brokers   []Broker `json:"brokers"`
	// Security says how the clients reached the cluster ("TLS, SASL
	// SCRAM-SHA-256 as e2e"); empty for plaintext. Never a password.
	Security string `json:"security,omitempty"`
	// KafkaVersion is the protocol version the run spoke ("3.6.0");
	// KafkaVersionWhy says where it came from: the profile, or for
	// cluster.kafka_version auto what the brokers advertise and why no newer
	// version fits.
	KafkaVersion    string `json:"kafka_version,omitempty"`
	KafkaVersionWhy string `json:"kafka_version_why,omitempty"`
	// The rest is for clusters of processes the runner started (spawn mode); see nodes.go.
	// WorkDir holds the nodes' files, data and logs; WorkDirRemoved is set when it was removed after a pass.
	WorkDir        string        `json:"work_dir,omitempty"`
	WorkDirRemoved bool          `json:"work_dir_removed,omitempty"`
	Nodes          []Node        `json:"nodes,omitempty"`
	NodeFailures   []NodeFailure `json:"node_failures,omitempty"`
	// Resources is each spawned node's memory, CPU and file descriptors over the run.
	Resources   *Resources   `json:"resources,omitempty"`
	LogFindings []LogFinding `json:"log_findings,omitempty"`
	// LogFindingsDropped counts failing log lines left out of LogFindings to bound its size.
	LogFindingsDropped int `json:"log_findings_dropped,omitempty"`
}

// Broker is one broker as the cluster's metadata listed it.
type Broker struct {
	ID   int32  `json:"id"`
	Addr string `json:"addr"`
}

// Scenario is the verdict and findings of one scenario.
type Scenario struct {
	Name      string  `json:"name"`
	Passed    bool    `json:"passed"`
	Skipped   bool    `json:"skipped,omitempty"`
	DurationS float64 `json:"duration_s"`
	// Error says why the scenario could not finish (a deadline, an unreachable
	// broker); Findings are the checks it ran that failed.
	Error    string   `json:"error,omitempty"`
	Findings []string `json:"findings"`
	// Notes are facts worth reading that do not fail the run, each saying why.
	Notes []string `json:"notes,omitempty"`
	// Metrics are the scenario's own measurements, by name (seconds, counts).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// NotApplicable marks a skipped scenario that cannot run on this
	// cluster (a fault scenario without node control): it fails the run
	// unless the report's AllowNotApplicable is set, and then neither passes
	// nor fails it. A scenario skipped because what it needed failed is not
	// this: it fails the run.
	NotApplicable bool `json:"not_applicable,omitempty"`
	// NotRun marks a skipped scenario that never started: the run was
	// interrupted, or the cluster failed, before its turn.
	NotRun bool `json:"not_run,omitempty"`
	// InternalError marks a scenario stopped by an internal error (see the
	// report's internal_errors): its verdict is ERROR, not FAILED.
	InternalError bool `json:"internal_error,omitempty"`
}

// Delivery accounts for every message of the run.
type Delivery struct {
	Counts
	// FailedByError counts failed produce requests by error.
	FailedByError map[string]int64 `json:"failed_by_error,omitempty"`
}

// Counts is what became of the messages sent: the delivery of a run, or of
// one producer mode through a fault scenario.
type Counts struct {
	Sent       int64 `json:"sent"`
	Acked      int64 `json:"acked"`
	Failed     int64 `json:"failed"`
	Consumed   int64 `json:"consumed"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	Reordered  int64 `json:"reordered"`
	Unexpected int64 `json:"unexpected"`
	// SiblingsRead counts the records of the other shards of the run group
	// read from the shared topic (--shard): expected there, not this shard's
	// to account for, and never counted as unexpected.
	SiblingsRead int64 `json:"sibling_records_read,omitempty"`
	// Misplaced counts records read once but at another partition or offset than acknowledged.
	Misplaced int64 `json:"misplaced"`
	// UnackedRead counts records whose produce failed or was never answered but that were read back.
	UnackedRead int64 `json:"unacked_read"`
	// LostByCause counts the lost records per cause; Losses groups them by partition and cause.
	LostByCause map[string]int64 `json:"lost_by_cause,omitempty"`
	Losses      []Loss           `json:"losses,omitempty"`
}

// Throughput is messages per second of the produce and consume phases.
type Throughput struct {
	ProduceMsgsPerS  float64 `json:"produce_msgs_per_s"`
	ConsumeMsgsPerS  float64 `json:"consume_msgs_per_s"`
	ProduceMBPerS    float64 `json:"produce_mb_per_s"`
	ConsumeMBPerS    float64 `json:"consume_mb_per_s"`
	ProduceDurationS float64 `json:"produce_duration_s"`
	// ProduceStartedAt is when the first message was sent; with the
	// duration, the window `report merge` sums shards' throughput over.
	ProduceStartedAt *time.Time `json:"produce_started_at,omitempty"`
	ConsumeDurationS float64    `json:"consume_duration_s"`
	// ConsumeStartedAt is when the first record was read (of the first pass).
	ConsumeStartedAt *time.Time `json:"consume_started_at,omitempty"`
	// ProduceEngine is the producer engine that sent (workload.engine), with
	// why when it is not the one the profile asked for.
	ProduceEngine string `json:"produce_engine,omitempty"`
}

// Latency is the produce acknowledgement latency in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	// Histogram counts the observations in log-spaced buckets (1-2-5 ms
	// steps), from the first non-empty bucket to the last.
	Histogram []Bucket `json:"histogram,omitempty"`
	// HDR is the whole histogram of microseconds (1 µs to 10 min, three
	// significant digits) in HdrHistogram's compressed V2 encoding, base64:
	// what `report merge` merges shards' latencies from, exactly. Reports of
	// schema version 1 have none.
	HDR string `json:"hdr,omitempty"`
}

// Distribution summarises how acknowledged messages spread over partitions.
type Distribution struct {
	// Variance is the variance of acked messages per partition, in messages squared.
	Variance float64 `json:"variance"`
	// MaxDeviationPct is the largest deviation of a partition from the mean, in percent of the mean.
	MaxDeviationPct float64 `json:"max_deviation_pct"`
}

// Partition is one partition's shape and message count.
type Partition struct {
	ID       int32   `json:"id"`
	Leader   int32   `json:"leader"`
	Replicas []int32 `json:"replicas"`
	ISR      []int32 `json:"isr"`
	Messages int64   `json:"messages"`
	// HighWatermark is the partition's end offset after producing.
	HighWatermark int64 `json:"high_watermark"`
}

// New returns an empty report for a run of profile.
func New(profile, runID string, started time.Time) *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		Profile:       profile,
		RunID:         runID,
		StartedAt:     started,
		Scenarios:     []*Scenario{},
		Leaders:       map[string]int{},
	}
}

// Scenario returns the named scenario's section, or nil.
func (r *Report) Scenario(name string) *Scenario {
	for _, s := range r.Scenarios {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Finish computes the verdict: passed only when at least one scenario passed,
// every other one was not applicable to the cluster (which the profile
// allowed: AllowNotApplicable), and chronik-e2e had no internal error.
func (r *Report) Finish(end time.Time) {
	r.DurationS = end.Sub(r.StartedAt).Seconds()
	r.Passed = !r.Interrupted && !r.Cluster.Fails() && !r.Errored()
	passed := 0
	for _, s := range r.Scenarios {
		switch {
		case s.Passed:
			passed++
		case !s.NotApplicable || !r.AllowNotApplicable: // allowed, not applicable neither passes nor fails
			r.Passed = false
		}
	}
	if passed == 0 { // nothing was checked
		r.Passed = false
	}
	r.UpdateVerdict()
}

// UpdateVerdict sets Verdict from InternalErrors, Interrupted and Passed.
// Finish calls it; so must whoever changes Passed afterwards (the gate).
func (r *Report) UpdateVerdict() {
	switch {
	case r.Errored():
		r.Verdict = VerdictError
	case r.Interrupted:
		r.Verdict = VerdictInterrupted
	case r.Passed:
		r.Verdict = VerdictPassed
	default:
		r.Verdict = VerdictFailed
	}
}

// TagList returns the tags as sorted "key=value" strings.
func (r *Report) TagList() []string {
	out := make([]string, 0, len(r.Tags))
	for k, v := range r.Tags {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// WriteJSON writes the report as indented JSON to path.
func (r *Report) WriteJSON(path string) error { return writeJSONFile(path, r) }
