package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// Deadlines of one readiness check of one node.
const (
	probeHTTPTimeout  = 2 * time.Second
	probeKafkaTimeout = 5 * time.Second
)

// nodeCheck is what one readiness check found of one node.
type nodeCheck struct {
	brokers []report.Broker // what its metadata listed; nil when it did not answer
	reason  string          // why it is not ready; "" when it answered
}

// WaitReady waits until every node is up and the cluster is whole: each
// node's process runs, its HTTP probe (if any) answers 2xx, and Kafka
// metadata asked of every node lists exactly as many brokers as there are
// nodes, the same brokers from each. An open port is not readiness: a
// broker may accept connections long before it serves. Until then status
// says which nodes it waits for and why. A node that exits fails at once
// (exit 3) with the tail of its log; so do wait passing (counted from
// WaitReady's own start) and ctx ending first, with every node's last reason.
func (s *Spawned) WaitReady(ctx context.Context, wait time.Duration, cfg *sarama.Config, status func(format string, args ...any)) ([]report.Broker, error) {
	if status == nil {
		status = func(string, ...any) {}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	client := &http.Client{Timeout: probeHTTPTimeout, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	var lastSummary string
	var lastShown time.Time
	var checks []nodeCheck
	backoff := 50 * time.Millisecond
	for {
		if f := s.firstFailure(); f != nil {
			return nil, exitcode.ClusterError(errors.New(f.withTail()),
				"the node's log says why it exited; all node logs and rendered files are in "+s.workDir)
		}
		checks = s.checkAll(ctx, cfg, client)
		brokers, waiting := judgeReady(checks, len(s.nodes))
		if len(waiting) == 0 {
			if err := s.checkAdvertised(brokers); err != nil {
				return nil, err
			}
			s.ready.Store(true)
			status("cluster ready after %s: %d nodes list brokers %s", time.Since(start).Round(time.Millisecond), len(s.nodes), brokerList(brokers))
			return brokers, nil
		}
		summary := strings.Join(waiting, "; ")
		if summary != lastSummary || time.Since(lastShown) >= readyPeriod {
			status("waiting for %d of %d nodes (%s): %s", len(waiting), len(s.nodes), time.Since(start).Round(100*time.Millisecond), summary)
			lastSummary, lastShown = summary, time.Now()
		}
		select {
		case <-ctx.Done():
			if f := s.firstFailure(); f != nil {
				continue // report the exit, not the wait
			}
			return nil, s.notReady(time.Since(start), waiting)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// checkAll checks every node at once.
func (s *Spawned) checkAll(ctx context.Context, cfg *sarama.Config, client *http.Client) []nodeCheck {
	checks := make([]nodeCheck, len(s.nodes))
	var wg sync.WaitGroup
	for i, n := range s.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checks[i] = n.check(ctx, cfg, client)
		}()
	}
	wg.Wait()
	return checks
}

// check runs the readiness checks of one node.
func (n *spawnNode) check(ctx context.Context, cfg *sarama.Config, client *http.Client) nodeCheck {
	if n.running() == nil {
		return nodeCheck{reason: "its process is not running"}
	}
	if n.readyURL != "" {
		if reason := probeHTTP(ctx, client, n.readyURL); reason != "" {
			return nodeCheck{reason: reason}
		}
	}
	pctx, cancel := context.WithTimeout(ctx, probeKafkaTimeout)
	defer cancel()
	brokers, err := probe(pctx, n.addr, cfg)
	if err != nil {
		return nodeCheck{reason: fmt.Sprintf("Kafka metadata from %s: %v", n.addr, err)}
	}
	return nodeCheck{brokers: brokers}
}

// probeHTTP says why url does not answer GET with a 2xx status, or "" if it does.
func probeHTTP(ctx context.Context, client *http.Client, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Sprintf("probe %s: %v", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return fmt.Sprintf("probe %s: %v", url, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("probe %s answered %s", url, resp.Status)
	}
	return ""
}

// judgeReady returns the brokers when every node answered with the same
// count brokers, or else why each node that is not ready is not.
func judgeReady(checks []nodeCheck, count int) ([]report.Broker, []string) {
	var waiting []string
	var ref []report.Broker
	refNode := 0
	for i, c := range checks {
		id := i + 1
		switch {
		case c.reason != "":
			waiting = append(waiting, fmt.Sprintf("node %d: %s", id, c.reason))
		case len(c.brokers) != count:
			waiting = append(waiting, fmt.Sprintf("node %d: metadata lists %d broker(s) (%s), want %d", id, len(c.brokers), brokerList(c.brokers), count))
		case ref == nil:
			ref, refNode = c.brokers, id
		case !slices.Equal(ref, c.brokers):
			waiting = append(waiting, fmt.Sprintf("node %d: metadata lists brokers %s, but node %d lists %s", id, brokerList(c.brokers), refNode, brokerList(ref)))
		}
	}
	if len(waiting) > 0 {
		return nil, waiting
	}
	return ref, nil
}

// brokerList renders brokers as "0 127.0.0.1:4001, 1 127.0.0.1:4002".
func brokerList(bs []report.Broker) string {
	if len(bs) == 0 {
		return "none"
	}
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = strconv.Itoa(int(b.ID)) + " " + b.Addr
	}
	return strings.Join(parts, ", ")
}

// notReady is the exit-3 error of a cluster that was not ready in time.
func (s *Spawned) notReady(waited time.Duration, waiting []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "the spawned cluster was not ready within %s (timeouts.cluster_ready):", waited.Round(100*time.Millisecond))
	for _, w := range waiting {
		b.WriteString("\n  " + w)
	}
	fmt.Fprintf(&b, "\nthe node logs are in %s", s.workDir)
	return exitcode.ClusterError(errors.New(b.String()),
		"a node's log says why it does not serve yet; if it only needs longer, raise timeouts.cluster_ready")
}
