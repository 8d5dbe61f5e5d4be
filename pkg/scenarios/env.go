package scenarios

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// Progress shows how far a long phase got; it is a no-op off a terminal.
type Progress interface {
	Add(n int)
	Done()
}

// ProgressFunc starts a progress display for total units of label.
type ProgressFunc func(label string, total int64) Progress

type noProgress struct{}

func (noProgress) Add(int) {}
func (noProgress) Done()   {}

// Env is what the scenarios of one run share: the profile, the cluster, the
// topic, the produce ledger and the report they all write into.
type Env struct {
	Profile *profile.Profile
	Cluster cluster.Cluster
	// Client is a shared client for metadata and admin requests.
	Client sarama.Client
	Admin  sarama.ClusterAdmin
	Report *report.Report
	// Topic is the topic the scenarios use; RunID marks this run's payloads.
	Topic string
	RunID uint64
	// Shard, when set, makes the run one shard of a run group (--shard):
	// RunID is the group's, the topic is shared, and produce and consume
	// send and account for the shard's part of the workload alone (Expect).
	Shard *verify.Shard
	// Version is the protocol version the run speaks (cluster.kafka_version, resolved).
	Version sarama.KafkaVersion
	// Progress starts progress displays; nil means none.
	Progress ProgressFunc
	// Status, when set, receives one-line messages of what a scenario waits
	// for while it waits ("waiting up to 10s for …"); the live view shows them.
	Status func(format string, args ...any)
	// Records receives every lost, duplicated, misplaced and unacknowledged
	// record consume finds (the artifacts' ledger CSV); nil means none.
	Records RecordSink
	// Panics receives the panic of any goroutine a scenario starts (always
	// through Panics.Go): the run then ends as an internal error.
	Panics *safe.Recorder

	// TopicReady is set once the topic exists and every partition has a leader.
	TopicReady bool
	// Ledger is the produce ledger, set once produce has run.
	Ledger *verify.Ledger
	// Acks is the acks mode the ledger's messages were produced with.
	Acks string
	// ClientReordered says that produce's own client may have sent a
	// partition's messages out of order (verify.Mode.ClientReordered).
	ClientReordered bool

	// readFrom holds, for an existing topic (topic.existing), each
	// partition's end offset at the start of the run: where reading starts
	// instead of the log start.
	readFrom map[int32]int64

	// extraTopics are the topics scenarios created besides Topic (noteTopic).
	topicsMu    sync.Mutex
	extraTopics []string
	groups      []string // consumer groups scenarios made (noteGroup)

	// security is how every client of the run reaches the cluster (TLS, SASL).
	security kafka.Security

	// liveRead is the read that produce ran alongside itself
	// (workload.concurrent_consume), for consume to account.
	liveRead *verify.Reading
}

// NewEnv connects the shared client to c and returns an Env for p that
// speaks protocol version v (cluster.kafka_version, resolved), secured as
// cluster.tls and cluster.sasl say.
func NewEnv(p *profile.Profile, c cluster.Cluster, rep *report.Report, topic string, runID uint64, v sarama.KafkaVersion) (*Env, error) {
	sec, err := p.Cluster.Security()
	if err != nil {
		return nil, err
	}
	cfg := kafka.ConfigFor(v)
	kafka.Secure(cfg, sec)
	client, err := sarama.NewClient(c.Bootstrap(), cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %v: %w", c.Bootstrap(), err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("admin client for %v: %w", c.Bootstrap(), err)
	}
	return &Env{Profile: p, Cluster: c, Client: client, Admin: admin, Report: rep, Topic: topic, RunID: runID, Version: v, security: sec}, nil
}

// Expect says which messages of the run's topic are the run's own: the
// workload's, or a shard's part of them.
func (e *Env) Expect() verify.Expect {
	if e.Shard != nil {
		return e.Shard.Own(e.RunID)
	}
	w := e.Profile.Workload
	return verify.Expect{RunID: e.RunID, N: w.Messages, Keys: workload.Keys(w.Keys)}
}

// Close closes the shared client.
func (e *Env) Close() {
	if e.liveRead != nil {
		closeWithin(safe.WithRecorder(context.Background(), e.Panics), 5*time.Second, e.liveRead.Close)
	}
	if e.Client != nil {
		closeWithin(safe.WithRecorder(context.Background(), e.Panics), 5*time.Second, func() { _ = e.Client.Close() })
	}
}

// Config returns a fresh client config for the run's protocol version and
// security; a shard's client id names it (chronik-e2e-shard-1).
func (e *Env) Config() *sarama.Config {
	cfg := kafka.ConfigFor(e.Version)
	kafka.Secure(cfg, e.security)
	if e.Shard != nil {
		// A shard's clients say which shard they are in the brokers' logs.
		cfg.ClientID = fmt.Sprintf("%s-shard-%d", cfg.ClientID, e.Shard.Index)
	}
	return cfg
}

// status tells what the scenario is doing or waiting for, when anyone listens.
func (e *Env) status(format string, args ...any) {
	if e.Status != nil {
		e.Status(format, args...)
	}
}

func (e *Env) progress(label string, total int64) Progress {
	if e.Progress == nil {
		return noProgress{}
	}
	return e.Progress(label, total)
}

// partition returns the report's entry for partition id, creating the entries up to it.
func (e *Env) partition(id int32) *report.Partition {
	for int(id) >= len(e.Report.Partitions) {
		e.Report.Partitions = append(e.Report.Partitions, report.Partition{
			ID: int32(len(e.Report.Partitions)), Leader: -1,
		})
	}
	return &e.Report.Partitions[id]
}

// leaderWait bounds leaderOf: sarama's Leader refreshes the metadata when
// the leader is not cached, and a broker holding that request (queued
// behind produce requests it holds) held the produce answers being named,
// and with them the whole scenario, for sarama's 45s read timeout.
const leaderWait = 200 * time.Millisecond

// leaderOf returns the broker id leading partition p in the shared client's
// metadata, or -1 when it is not known within leaderWait; for naming
// brokers in findings.
func (e *Env) leaderOf(p int32) int32 {
	id := make(chan int32, 1)
	// A refresh sarama starts ends with its read timeout, or when the client closes.
	e.Panics.Go(fmt.Sprintf("leader lookup of partition %d", p), func() {
		b, err := e.Client.Leader(e.Topic, p)
		if err != nil {
			id <- -1
			return
		}
		id <- b.ID()
	})
	t := time.NewTimer(leaderWait)
	defer t.Stop()
	select {
	case l := <-id:
		return l
	case <-t.C:
		return -1
	}
}
