package cluster

import (
	"context"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// The optional abilities of a Cluster, for clusters of processes the runner
// started and watches (spawn mode).

// Watcher is a cluster that watches its own processes.
type Watcher interface {
	// Failed delivers the first node that exited while the run needed it;
	// the runner stops the run at once.
	Failed() <-chan error
}

// ReadyWaiter is a cluster with a readiness check of its own, used instead
// of WaitReady.
type ReadyWaiter interface {
	// WaitReady returns once the cluster is ready, with the brokers its
	// metadata lists, or fails (exit 3) when wait (counted from its own
	// start) passes or ctx ends first; status gets one-line messages saying
	// what it waits for.
	WaitReady(ctx context.Context, wait time.Duration, cfg *sarama.Config, status func(format string, args ...any)) ([]report.Broker, error)
}

// Describer is a cluster that adds what it knows of its nodes to the report:
// processes, work dir, nodes that exited, log findings.
type Describer interface {
	Describe(c *report.Cluster)
}

// WorkDirOwner is a cluster with a work dir of its own (data, rendered
// files, logs), kept after a failed run and removed after a pass.
type WorkDirOwner interface {
	WorkDir() string
	// RemoveWorkDir removes the work dir; call it after Close.
	RemoveWorkDir() error
}
