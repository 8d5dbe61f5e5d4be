package scenarios_test

// Side-by-side throughput benchmarks: the runner's produce and consume paths,
// with every piece of verification bookkeeping, against the plainest sarama
// client doing the same work on the same embedded 3-broker cluster in the same
// benchmark run. Each reports the runner's rate divided by bare sarama's as
// the "ratio" metric; make bench runs them with -benchtime 400000x. The
// produce benchmark runs the runner with each engine (workload.engine; the
// batch engine's target is 2× bare sarama, the sarama engine's 0.9×);
// chronik-e2e bench measures the same against a cluster in another process,
// and against kcat.
//
// Both sides use the runner's sarama configuration (kafka.ConfigFor with
// acks=all) and connect to every leader the same way, so that they differ in
// what they do with each message only. Each side moves b.N messages in
// benchRounds chunks, in the order bare, runner, runner, bare, bare, runner,
// ...: whatever else the machine is doing and however the cluster and the
// heap grow, both sides get their share of it. Every chunk starts after a
// garbage collection, so that neither side pays for the other's garbage, and
// runs under the pprof label side=bare or side=runner: with -cpuprofile,
// go tool pprof -tagfocus=side=runner shows where the runner's time goes.

import (
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/bench"
	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// The benchmarked workload: the seed test's shape, with 100-byte values and acks=all.
const (
	benchNodes      = 3
	benchPartitions = 9
	benchKeys       = 100
	benchValueBytes = 100
	benchRunID      = 0xbe4c
)

// benchRounds is how many chunks each side's b.N messages are split into.
const benchRounds = 8

// BenchmarkProduceVsSarama produces b.N messages with bare sarama and b.N
// with the runner's produce scenario, once with each producer engine
// (workload.engine); ns/op is the runner's time per message.
func BenchmarkProduceVsSarama(b *testing.B) {
	for _, engine := range []string{profile.EngineBatch, profile.EngineSarama} {
		b.Run("engine="+engine, func(b *testing.B) {
			c := benchCluster(b)
			b.StopTimer()
			var bare, runner time.Duration
			for i, n := range chunks(b.N) {
				bareTopic, env := benchTopic(b, c), benchEnv(b, c, benchTopic(b, c), n)
				env.Profile.Workload.Engine = engine
				inTurn(i,
					func() { bare += bareProduce(b, c, bareTopic, n) },
					func() { runner += timed(b, func() { runnerProduce(b, env) }) })
			}
			reportRatio(b, bare, runner)
		})
	}
}

// BenchmarkConsumeVsSarama reads the same b.N messages with bare sarama
// partition consumers and with the runner's consume scenario; ns/op is the
// runner's time per message.
func BenchmarkConsumeVsSarama(b *testing.B) {
	c := benchCluster(b)
	b.StopTimer()
	var envs []*scenarios.Env
	for _, n := range chunks(b.N) {
		env := benchEnv(b, c, benchTopic(b, c), n)
		runnerProduce(b, env)
		envs = append(envs, env)
	}
	var bare, runner time.Duration
	for i, env := range envs {
		inTurn(i,
			func() { bare += bareConsume(b, c, env.Topic, env.Profile.Workload.Messages) },
			func() { runner += timed(b, func() { runnerConsume(b, env) }) })
	}
	reportRatio(b, bare, runner)
}

// chunks splits n messages into benchRounds chunks (none empty unless n is 0).
func chunks(n int) []int {
	var out []int
	for i := range benchRounds {
		if c := n*(i+1)/benchRounds - n*i/benchRounds; c > 0 {
			out = append(out, c)
		}
	}
	return out
}

// inTurn runs bare then runner in even rounds and the other way round in odd
// ones, each after a garbage collection and under its pprof label.
func inTurn(round int, bare, runner func()) {
	sides := []struct {
		label string
		run   func()
	}{{"bare", bare}, {"runner", runner}}
	if round%2 == 1 {
		sides[0], sides[1] = sides[1], sides[0]
	}
	for _, side := range sides {
		runtime.GC()
		pprof.Do(context.Background(), pprof.Labels("side", side.label), func(context.Context) { side.run() })
	}
}

// timed runs fn with the benchmark timer running and returns how long it took.
func timed(b *testing.B, fn func()) time.Duration {
	start := time.Now()
	b.StartTimer()
	fn()
	b.StopTimer()
	return time.Since(start)
}

// reportRatio records both rates and their ratio. The sides moved the same number
// of messages in total, so the ratio of rates is the inverse ratio of times.
func reportRatio(b *testing.B, bare, runner time.Duration) {
	b.ReportMetric(float64(b.N)/bare.Seconds(), "bare-msg/s")
	b.ReportMetric(float64(b.N)/runner.Seconds(), "runner-msg/s")
	b.ReportMetric(bare.Seconds()/runner.Seconds(), "ratio")
}

// benchCluster starts an embedded cluster for one benchmark run.
func benchCluster(b *testing.B) *cluster.Embedded {
	b.Helper()
	c, err := cluster.StartEmbedded(benchNodes)
	if err != nil {
		b.Fatalf("start embedded cluster: %v", err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

var topicSeq struct {
	sync.Mutex
	n int
}

// benchTopic creates a fresh topic with the topic-create scenario and returns its name.
func benchTopic(b *testing.B, c cluster.Cluster) string {
	b.Helper()
	topicSeq.Lock()
	topicSeq.n++
	name := fmt.Sprintf("bench-%d", topicSeq.n)
	topicSeq.Unlock()
	env := benchEnv(b, c, name, 1)
	runScenario(b, "topic-create", env)
	return name
}

// benchProfile is the benchmarked workload for n messages.
func benchProfile(b *testing.B, n int) *profile.Profile {
	b.Helper()
	p := profile.Default()
	p.Name = "bench"
	p.Cluster.Nodes = benchNodes
	p.Topic.Partitions, p.Topic.ReplicationFactor = benchPartitions, benchNodes
	p.Workload.Messages, p.Workload.Keys, p.Workload.ValueBytes, p.Workload.Acks = max(n, 1), benchKeys, benchValueBytes, "all"
	p.Timeouts.Scenario.Duration = 5 * time.Minute
	// The final audit's wait for a quiet topic is a wait by design, not the
	// runner's cost: with settle 0 the audit still lists every partition's
	// offsets again and reads nothing new, which is what is measured.
	p.Timeouts.Settle.Duration = 0
	if err := p.Validate(scenarios.Names()); err != nil {
		b.Fatalf("profile: %v", err)
	}
	return p
}

// benchEnv returns an Env of the benchmarked workload for topic, closed when the benchmark ends.
func benchEnv(b *testing.B, c cluster.Cluster, topic string, n int) *scenarios.Env {
	b.Helper()
	env, err := scenarios.NewEnv(benchProfile(b, n), c, report.New("bench", "bench", time.Now()), topic, benchRunID, benchVersion)
	if err != nil {
		b.Fatalf("env: %v", err)
	}
	b.Cleanup(env.Close)
	return env
}

// runScenario runs the named scenario and fails the benchmark unless it passed.
func runScenario(b *testing.B, name string, env *scenarios.Env) {
	b.Helper()
	s, ok := scenarios.Lookup(name)
	if !ok {
		b.Fatalf("no scenario %s", name)
	}
	sec := &report.Scenario{Name: name}
	step := scenarios.NewStep(sec)
	ctx, cancel := context.WithTimeout(context.Background(), env.Profile.Timeouts.Scenario.Duration)
	defer cancel()
	if err := s.Run(ctx, env, step); err != nil || step.Failed() {
		b.Fatalf("scenario %s: error %v, findings %q", name, err, sec.Findings)
	}
}

// runnerProduce produces the messages of env's workload to its topic with
// the produce scenario, leaving the ledger in env. The Env, whose shared
// client a run makes once for all its scenarios, is made before the clock
// starts.
func runnerProduce(b *testing.B, env *scenarios.Env) {
	b.Helper()
	env.TopicReady = true
	runScenario(b, "produce", env)
	if d, n := env.Report.Delivery, env.Profile.Workload.Messages; d.Acked != int64(n) {
		b.Fatalf("produce: %d of %d messages acknowledged", d.Acked, n)
	}
}

// runnerConsume reads env's topic back with the consume scenario, forgetting
// the reads of an earlier pass first.
func runnerConsume(b *testing.B, env *scenarios.Env) {
	b.Helper()
	if env.Ledger == nil {
		return
	}
	env.Ledger.ResetReads()
	runScenario(b, "consume", env)
	if d := env.Report.Delivery; d.Consumed != int64(env.Ledger.Len()) {
		b.Fatalf("consume: read %d of %d messages", d.Consumed, env.Ledger.Len())
	}
}

// benchVersion is the protocol version both sides speak.
var benchVersion = sarama.V3_6_0_0

// bareConfig is the runner's own client configuration (deadlines, no
// retries, buffer sizes) with acks=all: the bare side differs from the
// runner only in what it does with each message.
func bareConfig(b *testing.B) *sarama.Config {
	b.Helper()
	cfg := kafka.ConfigFor(benchVersion)
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	return cfg
}

// bareClient returns a client of the cluster, connected to every leader of
// topic as the runner's are (kafka.ConnectLeaders: sarama otherwise fails a
// partition's first request now and then when two partitions share a leader).
func bareClient(b *testing.B, c cluster.Cluster, topic string) sarama.Client {
	b.Helper()
	client, err := sarama.NewClient(c.Bootstrap(), bareConfig(b))
	if err != nil {
		b.Fatalf("client: %v", err)
	}
	if err := kafka.ConnectLeaders(client, topic); err != nil {
		client.Close()
		b.Fatal(err)
	}
	return client
}

// bareProduce sends n messages with a plain async producer, counting
// answers and nothing else, and returns how long it took (its client's
// start included). They are the runner's messages, byte for byte: the keys,
// and payloads encoded before the clock starts (bench.Payloads).
func bareProduce(b *testing.B, c cluster.Cluster, topic string, n int) time.Duration {
	b.Helper()
	if n == 0 {
		return 0
	}
	keys := workload.Keys(benchKeys)
	values := bench.Payloads(n, keys, benchValueBytes, benchRunID)
	start := time.Now()
	client := bareClient(b, c, topic)
	defer client.Close()
	if _, err := bench.BareProduce(context.Background(), client, topic, keys, values); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// bareConsume reads every partition of topic to its high watermark with
// plain partition consumers, counting records, and returns how long it took
// (its client's start included).
func bareConsume(b *testing.B, c cluster.Cluster, topic string, n int) time.Duration {
	b.Helper()
	if n == 0 {
		return 0
	}
	start := time.Now()
	client := bareClient(b, c, topic)
	defer client.Close()
	if _, err := bench.BareConsume(context.Background(), client, topic, n); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}
