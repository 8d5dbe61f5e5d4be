// Package bench measures, side by side on one cluster, how fast the runner
// produces and consumes against the clients it must keep up with: bare
// sarama (an AsyncProducer and partition consumers doing nothing but count)
// and kcat (librdkafka). The cluster runs in another process (chronik-e2e
// cluster up, or one the caller names), the runner is the chronik-e2e
// binary itself (chronik-e2e run against that cluster, its figures read from
// the JSON report), and every side runs once per round, back to back, in an
// order that rotates from round to round; each figure is the median of the
// rounds.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// Version is the protocol version every side speaks (the runner's profile
// says cluster.kafka_version: 3.6.0).
var Version = sarama.V3_6_0_0

// Options say what to measure and where.
type Options struct {
	Exe        string   // the chronik-e2e binary: cluster up and run
	Bootstrap  []string // a running cluster to measure against; empty: start one with cluster up
	Messages   int      // per side and round
	ValueBytes int
	Partitions int // of every topic, replication factor 3
	Keys       int
	Rounds     int
	Producers  []int  // the batch engine's producer counts
	Kcat       string // kcat's path; empty: kcat is left out
	NoKcat     string // why kcat is left out, for the notes
	Dir        string // where profiles, reports, logs and kcat's input go
	Log        io.Writer
}

// Side is one client measured: its throughput in messages per second, one
// figure per round (0 where it does not consume).
type Side struct {
	Name             string
	Produce, Consume []float64
	runner           bool
	engine           string
	producers        int
}

// Result is every side's figures.
type Result struct {
	Messages, ValueBytes, Partitions int
	Sides                            []*Side
	Notes                            []string
	Load                             string // the load average when the run ended
}

// Run measures every side o.Rounds times.
func Run(ctx context.Context, o Options) (*Result, error) {
	res := &Result{Messages: o.Messages, ValueBytes: o.ValueBytes, Partitions: o.Partitions}
	bootstrap := o.Bootstrap
	if len(bootstrap) == 0 {
		up, err := startCluster(ctx, o)
		if err != nil {
			return nil, err
		}
		defer up.stop(o.Log)
		bootstrap = up.bootstrap
	}
	fmt.Fprintf(o.Log, "cluster: %s\n", strings.Join(bootstrap, ","))
	admin, err := newAdmin(bootstrap)
	if err != nil {
		return nil, err
	}
	defer admin.Close()

	sides := []*Side{{Name: "sarama AsyncProducer (bare)"}}
	for _, n := range o.Producers {
		sides = append(sides, &Side{Name: fmt.Sprintf("runner, batch engine, %d producer%s", n, plural(n)), runner: true, engine: "batch", producers: n})
	}
	sides = append(sides, &Side{Name: "runner, sarama engine, 1 producer", runner: true, engine: "sarama", producers: 1})
	var kcatInput string
	if o.Kcat == "" {
		res.Notes = append(res.Notes, "kcat left out: "+o.NoKcat)
	} else {
		if kcatInput, err = writeKcatInput(o); err != nil {
			return nil, err
		}
		sides = append(sides, &Side{Name: "kcat " + kcatVersion(ctx, o.Kcat)})
	}

	m := &measurer{o: o, bootstrap: bootstrap, admin: admin, kcatInput: kcatInput}
	for round := range o.Rounds {
		order := append(slices.Clone(sides[round%len(sides):]), sides[:round%len(sides)]...)
		for _, s := range order {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			runtime.GC()
			produce, consume, err := m.measure(ctx, s, round)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round+1, s.Name, err)
			}
			s.Produce, s.Consume = append(s.Produce, produce), append(s.Consume, consume)
			fmt.Fprintf(o.Log, "round %d/%d  %-36s produce %10s msg/s   consume %10s msg/s\n", round+1, o.Rounds, s.Name, rate(produce), rate(consume))
		}
	}
	res.Sides = sides
	res.Load = loadAverage()
	return res, nil
}

// measurer runs one side once.
type measurer struct {
	o         Options
	bootstrap []string
	admin     sarama.ClusterAdmin
	kcatInput string
	topics    int
}

// measure runs s once and returns its produce and consume rates.
func (m *measurer) measure(ctx context.Context, s *Side, round int) (produce, consume float64, err error) {
	m.topics++
	topic := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano()%1e6, m.topics)
	switch {
	case s.runner:
		return m.runner(ctx, s, topic, round)
	case strings.HasPrefix(s.Name, "kcat"):
		return m.kcat(ctx, topic)
	}
	return m.bare(ctx, topic)
}

// createTopic creates topic and waits until the client reaches every leader.
func (m *measurer) createTopic(topic string) (sarama.Client, error) {
	if err := m.admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: int32(m.o.Partitions), ReplicationFactor: 3}, false); err != nil {
		return nil, fmt.Errorf("create topic %s: %w", topic, err)
	}
	cfg := kafka.ConfigFor(Version)
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	client, err := sarama.NewClient(m.bootstrap, cfg)
	if err != nil {
		return nil, err
	}
	if err := kafka.ConnectLeaders(client, topic); err != nil {
		client.Close()
		return nil, err
	}
	return client, nil
}

// deleteTopic deletes topic, so that the cluster does not hold every round's messages.
func (m *measurer) deleteTopic(topic string) {
	if err := m.admin.DeleteTopic(topic); err != nil {
		fmt.Fprintf(m.o.Log, "delete topic %s: %v\n", topic, err)
	}
}

// bare produces with a plain AsyncProducer, counting answers and nothing
// else, and reads the topic back with plain partition consumers. The values
// are the runner's payloads, each in its own buffer, encoded before the
// clock starts.
func (m *measurer) bare(ctx context.Context, topic string) (produce, consume float64, err error) {
	client, err := m.createTopic(topic)
	if err != nil {
		return 0, 0, err
	}
	defer m.deleteTopic(topic)
	defer client.Close()
	n, keys := m.o.Messages, workload.Keys(m.o.Keys)
	values := Payloads(n, keys, m.o.ValueBytes, 1)
	took, err := BareProduce(ctx, client, topic, keys, values)
	if err != nil {
		return 0, 0, err
	}
	values = nil
	runtime.GC()
	read, err := BareConsume(ctx, client, topic, n)
	if err != nil {
		return 0, 0, err
	}
	return float64(n) / took.Seconds(), float64(n) / read.Seconds(), nil
}

// Payloads returns n of the runner's payloads of valueBytes for run id
// runID, message i with key keys[i%len(keys)], each in its own buffer as a
// real workload's would be.
func Payloads(n int, keys [][]byte, valueBytes int, runID uint64) [][]byte {
	values := make([][]byte, n)
	sent := workload.StampOf(time.Now())
	for i := range values {
		k := uint32(i % len(keys))
		values[i] = make([]byte, valueBytes)
		workload.Encode(values[i], workload.Payload{RunID: runID, Seq: uint64(i), Key: k, Sent: sent}, keys[k])
	}
	return values
}

// BareProduce sends values (value i with key keys[i%len(keys)]) to topic
// through a plain AsyncProducer of client, counting answers and nothing
// else, and returns how long it took from the first send to the last answer.
func BareProduce(ctx context.Context, client sarama.Client, topic string, keys, values [][]byte) (time.Duration, error) {
	p, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	stop, fed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fed)
		for i, v := range values {
			select {
			case p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(keys[i%len(keys)]), Value: sarama.ByteEncoder(v)}:
			case <-stop:
				return
			}
		}
	}()
	var failed int
	var firstErr error
	for range values {
		select {
		case <-p.Successes():
		case pe := <-p.Errors():
			if failed++; firstErr == nil {
				firstErr = pe.Err
			}
		case <-ctx.Done():
			close(stop) // the producer is closed once nothing feeds it
			<-fed
			_ = p.Close()
			return 0, ctx.Err()
		}
	}
	took := time.Since(start)
	if err := p.Close(); err != nil || failed > 0 {
		return 0, fmt.Errorf("bare produce: %d of %d failed (first: %v), close: %v", failed, len(values), firstErr, err)
	}
	return took, nil
}

// BareConsume reads every partition of topic to its high watermark with
// plain partition consumers of client, counting records, and returns how
// long that took from the first fetch; it is an error unless it read n.
func BareConsume(ctx context.Context, client sarama.Client, topic string, n int) (time.Duration, error) {
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return 0, err
	}
	defer consumer.Close()
	ids, err := client.Partitions(topic)
	if err != nil {
		return 0, err
	}
	hwms := map[int32]int64{}
	for _, id := range ids {
		if hwms[id], err = client.GetOffset(topic, id, sarama.OffsetNewest); err != nil {
			return 0, fmt.Errorf("high watermark of partition %d: %w", id, err)
		}
	}
	start := time.Now()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int64
	)
	for _, id := range ids {
		hwm := hwms[id]
		if hwm == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, id, sarama.OffsetOldest)
		if err != nil {
			return 0, fmt.Errorf("consume partition %d: %w", id, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.AsyncClose()
			var read int64
			defer func() {
				mu.Lock()
				total += read
				mu.Unlock()
			}()
			for {
				select {
				case msg := <-pc.Messages():
					if msg == nil { // the partition failed for good
						return
					}
					if read++; msg.Offset+1 >= hwm {
						return
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if total != int64(n) {
		return 0, fmt.Errorf("bare consume read %d of %d records", total, n)
	}
	return took, nil
}

// runner runs chronik-e2e run against the cluster with s's engine and
// producers (topic-create, produce, consume; the topic deleted after) and
// returns the produce and consume rates its JSON report gives.
func (m *measurer) runner(ctx context.Context, s *Side, topic string, round int) (produce, consume float64, err error) {
	name := fmt.Sprintf("%s-%d-r%d", s.engine, s.producers, round+1)
	prof := filepath.Join(m.o.Dir, name+".yaml")
	if err := os.WriteFile(prof, []byte(runnerProfile(m.o, name, s)), 0o644); err != nil {
		return 0, 0, err
	}
	out := filepath.Join(m.o.Dir, name+".json")
	logPath := filepath.Join(m.o.Dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, 0, err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, m.o.Exe, "run", "--profile", prof, "--bootstrap", strings.Join(m.bootstrap, ","), "--topic", topic, "--json", out)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Interrupted, the run deletes its topic and reports what it got to.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("chronik-e2e run: %v (its output: %s)", err, logPath)
	}
	var rep struct {
		Passed     bool `json:"passed"`
		Throughput struct {
			Produce float64 `json:"produce_msgs_per_s"`
			Consume float64 `json:"consume_msgs_per_s"`
			Engine  string  `json:"produce_engine"`
		} `json:"throughput"`
	}
	raw, err := os.ReadFile(out)
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	switch {
	case err != nil:
		return 0, 0, fmt.Errorf("read the run's report %s: %w", out, err)
	case !rep.Passed:
		return 0, 0, fmt.Errorf("the run did not pass (report %s, output %s)", out, logPath)
	case rep.Throughput.Engine != s.engine:
		return 0, 0, fmt.Errorf("the run produced with engine %q, want %q", rep.Throughput.Engine, s.engine)
	}
	return rep.Throughput.Produce, rep.Throughput.Consume, nil
}

// runnerProfile is the profile of the runner's side s.
func runnerProfile(o Options, name string, s *Side) string {
	return fmt.Sprintf(`name: bench-%s
cluster:
  mode: attach
  nodes: 3
  kafka_version: "3.6.0"
topic:
  partitions: %d
  replication_factor: 3
  delete: always
workload:
  messages: %d
  keys: %d
  value_bytes: %d
  acks: all
  producers: %d
  engine: %s
timeouts:
  scenario: 10m
  settle: 0s
scenarios: [topic-create, produce, consume]
`, name, o.Partitions, o.Messages, o.Keys, o.ValueBytes, s.producers, s.engine)
}

// kcat produces o.Messages keyed values of o.ValueBytes with kcat -P
// (acks=all) and reads them back with kcat -C; each is timed from the
// process's start to its exit, so kcat's figures include its start.
func (m *measurer) kcat(ctx context.Context, topic string) (produce, consume float64, err error) {
	client, err := m.createTopic(topic)
	if err != nil {
		return 0, 0, err
	}
	defer m.deleteTopic(topic)
	defer client.Close()
	bs := strings.Join(m.bootstrap, ",")
	took, err := runTimed(ctx, m.o.Kcat, "-P", "-b", bs, "-t", topic, "-X", "acks=all", "-K", "\t", "-l", m.kcatInput)
	if err != nil {
		return 0, 0, err
	}
	var total int64
	for p := range int32(m.o.Partitions) {
		hwm, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return 0, 0, err
		}
		total += hwm
	}
	if total != int64(m.o.Messages) {
		return 0, 0, fmt.Errorf("kcat -P stored %d of %d messages", total, m.o.Messages)
	}
	read, err := runTimed(ctx, m.o.Kcat, "-C", "-b", bs, "-t", topic, "-o", "beginning", "-e", "-q", "-c", fmt.Sprint(m.o.Messages))
	if err != nil {
		return 0, 0, err
	}
	return float64(m.o.Messages) / took.Seconds(), float64(m.o.Messages) / read.Seconds(), nil
}

// runTimed runs exe with args, its output discarded, and returns how long
// it ran; an error names its exit and the first of its error output.
func runTimed(ctx context.Context, exe string, args ...string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &limited{w: &stderr, n: 2048}
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil || stderr.Len() > 0 {
		return 0, fmt.Errorf("%s %s: %v: %s", filepath.Base(exe), args[0], err, strings.TrimSpace(stderr.String()))
	}
	return took, nil
}

// limited keeps the first n bytes written to it.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if k := min(len(p), l.n); k > 0 {
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// writeKcatInput writes kcat's input, one "key<TAB>value" line per message:
// the runner's keys, values of o.ValueBytes printable bytes.
func writeKcatInput(o Options) (string, error) {
	path := filepath.Join(o.Dir, "kcat.in")
	value := bytes.Repeat([]byte{'v'}, o.ValueBytes)
	keys := workload.Keys(o.Keys)
	var buf bytes.Buffer
	buf.Grow(o.Messages * (o.ValueBytes + 8))
	for i := range o.Messages {
		buf.Write(keys[i%len(keys)])
		buf.WriteByte('\t')
		buf.Write(value)
		buf.WriteByte('\n')
	}
	return path, os.WriteFile(path, buf.Bytes(), 0o644)
}

// kcatVersion returns kcat's and librdkafka's versions from kcat -V's
// "Version 1.7.1 (JSON, ..., librdkafka 2.0.2 builtin.features=...)".
func kcatVersion(ctx context.Context, exe string) string {
	out, _ := exec.CommandContext(ctx, exe, "-V").Output()
	var kcat, rdkafka string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(strings.NewReplacer("(", " ", ",", " ").Replace(line))
		for i := 0; i+1 < len(f); i++ {
			switch f[i] {
			case "Version":
				kcat = f[i+1]
			case "librdkafka":
				rdkafka = f[i+1]
			}
		}
	}
	return fmt.Sprintf("%s (librdkafka %s)", kcat, rdkafka)
}

// newAdmin returns an admin client of the cluster.
func newAdmin(bootstrap []string) (sarama.ClusterAdmin, error) {
	admin, err := sarama.NewClusterAdmin(bootstrap, kafka.ConfigFor(Version))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", strings.Join(bootstrap, ","), err)
	}
	return admin, nil
}

// upCluster is the cluster chronik-e2e cluster up serves in another process.
type upCluster struct {
	cmd       *exec.Cmd
	exited    chan error
	bootstrap []string
}

// startCluster starts chronik-e2e cluster up (the built-in 3x3 profile: 3
// embedded brokers) and waits until it has written its bootstrap addresses.
func startCluster(ctx context.Context, o Options) (*upCluster, error) {
	state := filepath.Join(o.Dir, "up.json")
	_ = os.Remove(state)
	logPath := filepath.Join(o.Dir, "cluster.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(o.Exe, "cluster", "up", "--profile", "3x3", "--json", state)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s cluster up: %w", o.Exe, err)
	}
	up := &upCluster{cmd: cmd, exited: make(chan error, 1)}
	go func() { up.exited <- cmd.Wait() }()
	limit := time.NewTimer(time.Minute)
	defer limit.Stop()
	for {
		if raw, err := os.ReadFile(state); err == nil {
			var s struct {
				Bootstrap []string `json:"bootstrap"`
			}
			if err := json.Unmarshal(raw, &s); err == nil && len(s.Bootstrap) > 0 {
				up.bootstrap = s.Bootstrap
				return up, nil
			}
		}
		select {
		case err := <-up.exited:
			return nil, fmt.Errorf("chronik-e2e cluster up exited before it was ready: %v (its output: %s)", err, logPath)
		case <-limit.C:
			up.kill()
			return nil, fmt.Errorf("chronik-e2e cluster up was not ready within a minute (its output: %s)", logPath)
		case <-ctx.Done():
			up.kill()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop stops the cluster as Ctrl-C would, and kills it if it has not
// stopped within 10 seconds.
func (u *upCluster) stop(log io.Writer) {
	_ = u.cmd.Process.Signal(os.Interrupt)
	select {
	case <-u.exited:
	case <-time.After(10 * time.Second):
		fmt.Fprintln(log, "the cluster did not stop within 10s of an interrupt: killed")
		u.kill()
	}
}

// kill kills the cluster process and waits until it is gone.
func (u *upCluster) kill() {
	_ = u.cmd.Process.Kill()
	<-u.exited
}

// Median returns the median of xs (0 for none).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// loadAverage is the 1, 5 and 15 minute load averages, where the system says them.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
