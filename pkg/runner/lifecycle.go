package runner

import (
	"context"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// ClusterOptions say how StartCluster starts a profile's cluster.
type ClusterOptions struct {
	// Name names a spawned cluster's work dir; empty: the profile's name.
	Name string
	// Durable keeps an embedded cluster's data on disk, so that it survives
	// a restart of its nodes: for plans whose scenarios fault nodes.
	Durable bool
	// Status receives one-line status messages; nil: none.
	Status func(format string, args ...any)
	// BeforeClose, when set, is called with the cluster by Close before it
	// stops the cluster: the moment to collect node logs.
	BeforeClose func(cluster.Cluster)
}

// Lifecycle is a profile's cluster from start to close: `run` and
// `cluster up` start it, wait until it is ready and close it through this
// one handle.
type Lifecycle struct {
	// Cluster is the cluster started or attached to.
	Cluster cluster.Cluster
	profile *profile.Profile
	opts    ClusterOptions
	owned   bool // StartCluster started or attached to it: Close closes it
}

// StartCluster starts the profile's cluster (embedded, or the processes of
// spawn mode), or attaches to it (attach mode). Bad settings are exit 2, a
// cluster that cannot be started exit 3.
func StartCluster(ctx context.Context, p *profile.Profile, o ClusterOptions) (*Lifecycle, error) {
	if o.Status == nil {
		o.Status = func(string, ...any) {}
	}
	if o.Name == "" {
		o.Name = p.Name
	}
	c, err := start(ctx, p, o)
	if err != nil {
		return nil, err
	}
	return &Lifecycle{Cluster: c, profile: p, opts: o, owned: true}, nil
}

// borrowed wraps a cluster someone else started: Close calls BeforeClose
// but leaves the cluster running.
func borrowed(c cluster.Cluster, p *profile.Profile, o ClusterOptions) *Lifecycle {
	if o.Status == nil {
		o.Status = func(string, ...any) {}
	}
	return &Lifecycle{Cluster: c, profile: p, opts: o}
}

// start starts the profile's cluster, or attaches to it.
func start(ctx context.Context, p *profile.Profile, o ClusterOptions) (cluster.Cluster, error) {
	switch p.Cluster.Mode {
	case profile.ModeAttach:
		return attach(p)
	case profile.ModeSpawn:
		return cluster.StartSpawn(ctx, p.Cluster.Nodes, p.Cluster.Spawn, cluster.SpawnOptions{Name: o.Name, Status: o.Status, Network: p.Faults.Network})
	case profile.ModeEmbedded:
		if len(p.Cluster.Ports) > 0 {
			return cluster.StartEmbeddedPorts(p.Cluster.Ports, o.Durable)
		}
		startEmbedded := cluster.StartEmbedded
		if o.Durable {
			startEmbedded = cluster.StartEmbeddedDurable
		}
		e, err := startEmbedded(p.Cluster.Nodes)
		if err != nil {
			return nil, exitcode.ClusterError(err, "")
		}
		return e, nil
	}
	return nil, exitcode.Usagef("cluster.mode %q is not supported", p.Cluster.Mode)
}

// WaitReady waits, at most the profile's timeouts.cluster_ready, until the
// cluster is ready, and returns the brokers its metadata lists. A cluster
// that is not ready in time is exit 3.
func (l *Lifecycle) WaitReady(ctx context.Context) ([]report.Broker, error) {
	p := l.profile
	cfg, err := kafka.Config(p.Cluster.KafkaVersion)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	sec, err := p.Cluster.Security() // TLS and SASL, as every client of the run
	if err != nil {
		return nil, err
	}
	kafka.Secure(cfg, sec)
	// The wait starts inside waitReady, so that a cluster not ready in
	// time is said to have had all of timeouts.cluster_ready, never 1.999s
	// of 2s.
	brokers, err := waitReady(ctx, l.Cluster, p.Cluster.Nodes, p.Timeouts.ClusterReady.Duration, cfg, l.opts.Status)
	if s, ok := l.Cluster.(cluster.StatsStarter); ok && err == nil && l.owned {
		s.StartStats(ctx, brokers) // faults.hooks.stats: now the nodes are known
	}
	return brokers, err
}

// WorkDir is the directory of a spawned cluster's files, data and logs, or "".
func (l *Lifecycle) WorkDir() string {
	if w, ok := l.Cluster.(cluster.WorkDirOwner); ok {
		return w.WorkDir()
	}
	return ""
}

// Close calls BeforeClose, then stops a cluster StartCluster started and
// removes its work dir unless keep is set. It returns whether it removed one.
// The cluster is stopped even when BeforeClose panics.
func (l *Lifecycle) Close(keep bool) (removed bool) {
	if l.owned {
		defer func() { removed = l.stop(keep) }()
	}
	if l.opts.BeforeClose != nil {
		l.opts.BeforeClose(l.Cluster)
	}
	return false
}

// stop stops the cluster and removes its work dir unless keep is set.
func (l *Lifecycle) stop(keep bool) (removed bool) {
	_ = l.Cluster.Close()
	w, ok := l.Cluster.(cluster.WorkDirOwner)
	if !ok || keep {
		return false
	}
	return w.RemoveWorkDir() == nil
}
