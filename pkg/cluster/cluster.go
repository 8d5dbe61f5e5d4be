// Package cluster starts or attaches to the Kafka-protocol cluster under test
// and waits, by polling metadata, until it is ready.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// Cluster is a running cluster the runner can talk to.
type Cluster interface {
	// Mode is "embedded" or "attach".
	Mode() string
	// Bootstrap is the host:port list clients start from.
	Bootstrap() []string
	// Close stops what the runner started; attached clusters are left alone.
	Close() error
}

// Attached is an existing cluster the runner only talks to.
type Attached struct{ addrs []string }

// Attach returns the cluster at the given bootstrap addresses.
func Attach(addrs []string) *Attached { return &Attached{addrs: addrs} }

// Mode returns "attach".
func (a *Attached) Mode() string { return "attach" }

// Bootstrap returns the addresses the cluster was attached at.
func (a *Attached) Bootstrap() []string { return a.addrs }

// Close does nothing: the runner did not start this cluster.
func (a *Attached) Close() error { return nil }

// WaitReady polls metadata from the bootstrap addresses until a broker answers
// and lists exactly nodes brokers, for at most wait or until ctx is done
// (wait runs from WaitReady's own start, so a failure after it says it
// waited at least wait). It returns the
// brokers listed. When no address answered it fails with exit code 3, naming
// every address and what went wrong with it; when brokers answered but
// listed another number of brokers, it fails with exit code 3 too, naming
// the brokers seen and the key and flag that say how many to expect.
// Meanwhile status (nil: none) says what it waits for, when that changes
// and every few seconds.
func WaitReady(ctx context.Context, addrs []string, nodes int, wait time.Duration, cfg *sarama.Config, status func(string, ...any)) ([]report.Broker, error) {
	if status == nil {
		status = func(string, ...any) {}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	lastErr := make(map[string]error, len(addrs))
	var brokers []report.Broker
	backoff := 20 * time.Millisecond
	var lastSaid string
	var lastShown time.Time
	for {
		// Every address at once: one that never answers must not use up the
		// deadline of the others.
		answers := make([][]report.Broker, len(addrs))
		errs := make([]error, len(addrs))
		var wg sync.WaitGroup
		for i, addr := range addrs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i], errs[i] = probe(ctx, addr, cfg)
			}()
		}
		wg.Wait()
		for i, addr := range addrs {
			lastErr[addr] = errs[i]
			if why := kafka.AuthFailure(errs[i]); why != "" {
				// Asking again cannot mend a rejected password or an
				// untrusted certificate: say so now, not at the deadline.
				return nil, exitcode.ClusterError(fmt.Errorf("%s: %s: %w", addr, why, errs[i]),
					"check cluster.tls and cluster.sasl (or --tls, --tls-ca, --sasl-*, -X) against the cluster's listener")
			}
		}
		for i := range addrs {
			if errs[i] == nil {
				brokers = answers[i]
				if len(brokers) == nodes {
					return brokers, nil
				}
				break
			}
		}
		said := fmt.Sprintf("waiting for %d broker(s) (cluster.nodes) at %s: ", nodes, strings.Join(addrs, ","))
		if brokers != nil {
			said += fmt.Sprintf("the cluster lists %d: %s", len(brokers), brokerList(brokers))
		} else {
			said += "no broker answered yet"
		}
		if said != lastSaid || time.Since(lastShown) >= 5*time.Second {
			status("%s (%s)", said, time.Since(start).Round(100*time.Millisecond))
			lastSaid, lastShown = said, time.Now()
		}
		select {
		case <-ctx.Done():
			if brokers != nil {
				return nil, wrongSize(nodes, brokers, time.Since(start))
			}
			return nil, unreachable(addrs, lastErr, time.Since(start))
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// wrongSize is a cluster that answered but listed another number of brokers
// than the profile says it has.
func wrongSize(nodes int, brokers []report.Broker, waited time.Duration) error {
	return exitcode.ClusterError(
		fmt.Errorf("the cluster lists %d broker(s), not the %d of cluster.nodes, after %s: %s",
			len(brokers), nodes, waited.Round(time.Millisecond), brokerList(brokers)),
		fmt.Sprintf("if the cluster has %d broker(s), say so with --nodes %d (or cluster.nodes in the profile); if brokers are still joining, give them longer with timeouts.cluster_ready", len(brokers), len(brokers)))
}

func unreachable(addrs []string, lastErr map[string]error, waited time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "no broker answered a metadata request within %s:", waited.Round(time.Millisecond))
	found := diagnoseAll(addrs, lastErr)
	for _, a := range addrs {
		if d := found[a]; d != "" {
			fmt.Fprintf(&b, "\n  %s: %s", a, d)
			continue
		}
		fmt.Fprintf(&b, "\n  %s: %v", a, lastErr[a])
	}
	return exitcode.ClusterError(errors.New(b.String()),
		"check that the cluster is running and that these addresses are the ones its brokers listen on (--bootstrap or cluster.bootstrap)")
}

// probe asks one address for the cluster's brokers, within the dial and read deadlines.
func probe(ctx context.Context, addr string, cfg *sarama.Config) ([]report.Broker, error) {
	b := sarama.NewBroker(addr)
	if err := b.Open(cfg); err != nil {
		return nil, err
	}
	type answer struct {
		resp *sarama.MetadataResponse
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		// Closed here, not by probe: Close waits for the request in flight,
		// which a broker that accepts but never answers holds until the
		// client's read timeout.
		defer b.Close()
		if ok, err := b.Connected(); !ok && err != nil { // waits for the dial, TLS and SASL
			ch <- answer{nil, kafka.ConnectError(cfg, err)}
			return
		}
		resp, err := b.GetMetadata(sarama.NewMetadataRequest(cfg.Version, nil))
		ch <- answer{resp, err}
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer before the deadline: %w", ctx.Err())
	case a := <-ch:
		if a.err != nil {
			return nil, a.err
		}
		return Brokers(a.resp.Brokers), nil
	}
}

// Brokers converts sarama's brokers to the report's, sorted by id.
func Brokers(bs []*sarama.Broker) []report.Broker {
	out := make([]report.Broker, 0, len(bs))
	for _, b := range bs {
		out = append(out, report.Broker{ID: b.ID(), Addr: b.Addr()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
