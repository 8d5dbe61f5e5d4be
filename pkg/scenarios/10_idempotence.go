package scenarios

// idempotence kills a leader under two producers that retry, each on its
// own topic: an idempotent one (acks=all, Idempotent=true), which must come
// through with no duplicate, and one without idempotence, whose duplicates
// (a retried batch whose first attempt was written) are counted and
// reported but allowed.
//
// Measures: per producer, delivery counts, duplicates and unavailability windows.
// Fails: on any duplicate or reordering of the idempotent producer; on any
// acknowledged message lost by either (acks=all); on a partition without a
// leader faults.election_timeout after a kill.
// Not applicable: without node control, with one node, or with replication
// factor 1.
// Cannot detect: duplicates that need a write to land without its answer
// reaching the producer; whether a kill causes one is up to timing (tests
// cause them with REQUEST_TIMED_OUT answers to applied writes).

import (
	"context"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

func init() { Register(idempotence{}) }

type idempotence struct{}

var _ Scenario = idempotence{}

func (idempotence) Name() string       { return "idempotence" }
func (idempotence) Requires() []string { return nil }
func (idempotence) FaultsNodes()       {}
func (idempotence) Summary() string {
	return "kill a leader under retrying producers: the idempotent one may not duplicate, the other's duplicates are counted"
}

// retryBackoff is the retrying producers' backoff; their retries cover
// faults.election_timeout.
const retryBackoff = 100 * time.Millisecond

func (i idempotence) Run(ctx context.Context, env *Env, step *Step) error {
	k, err := newFaultKit(env, step, i.Name(), cluster.OpKill, cluster.OpStart)
	if err != nil {
		return err
	}
	if err := k.requireNodes(2, 2, "a killed leader needs another replica to take over"); err != nil {
		return err
	}
	defer k.done(ctx)
	retries := int(k.cfg.ElectionTimeout.Duration/retryBackoff) + 1
	retries = min(max(retries, 3), 100)
	for _, m := range []struct {
		suffix, prefix string
		mode           streamMode
	}{
		{"idempotent", "idempotent_", streamMode{acks: "all", idempotent: true, retries: retries}},
		{"retrying", "retrying_", streamMode{acks: "all", retries: retries}},
	} {
		if err := k.createTopic(ctx, m.suffix); err != nil {
			return err
		}
		s, err := k.startStream(m.mode)
		if err != nil {
			return err
		}
		if err := k.failover(ctx, s, cluster.OpKill, false, m.prefix); err != nil {
			return err
		}
		s.close()
	}
	return nil
}
