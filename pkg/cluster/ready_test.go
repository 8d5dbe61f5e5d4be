package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
)

// TestWaitReadyWantsExactlyNodes: a cluster that lists fewer brokers than
// cluster.nodes is not ready. Meanwhile status says what it waits for; at
// the deadline it fails with exit 3, naming the brokers it saw and the key
// and flag to change.
func TestWaitReadyWantsExactlyNodes(t *testing.T) {
	e, err := StartEmbedded(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	cfg, err := kafka.Config("3.6.0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var said []string
	status := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		said = append(said, fmt.Sprintf(format, args...))
	}
	const wait = 500 * time.Millisecond
	brokers, err := WaitReady(context.Background(), e.Bootstrap(), 3, wait, cfg, status)
	if brokers != nil || exitcode.Code(err) != exitcode.Unreachable {
		t.Fatalf("WaitReady = %v, %v; want no brokers and an exit-3 error", brokers, err)
	}
	want := "the cluster lists 1 broker(s), not the 3 of cluster.nodes, after "
	if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), ": 0 "+e.Bootstrap()[0]) {
		t.Errorf("error %q, want %q… naming broker 0 at %s", err, want, e.Bootstrap()[0])
	}
	// The wait it names is all of wait, never a hair less: it is counted
	// from WaitReady's own start (a deadline set by the caller before it
	// printed "after 1.999s" for a wait of 2s). No upper bound: a busy
	// machine may take longer.
	if waited, perr := time.ParseDuration(strings.SplitN(strings.TrimPrefix(err.Error(), want), ":", 2)[0]); perr != nil || waited < wait {
		t.Errorf("error %q names a wait of %v (%v), want at least %v", err, waited, perr, wait)
	}
	if hint := exitcode.Hint(err); !strings.Contains(hint, "--nodes 1 (or cluster.nodes in the profile)") {
		t.Errorf("hint %q does not name --nodes 1 and cluster.nodes", hint)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(said) == 0 || !strings.HasPrefix(said[0], "waiting for 3 broker(s) (cluster.nodes) at "+e.Bootstrap()[0]+": the cluster lists 1: 0 ") {
		t.Errorf("status said %q, want what it waits for", said)
	}

	// The right count is ready at once.
	brokers, err = WaitReady(context.Background(), e.Bootstrap(), 1, time.Minute, cfg, nil)
	if err != nil || len(brokers) != 1 {
		t.Errorf("WaitReady for 1 node = %v, %v", brokers, err)
	}
}
