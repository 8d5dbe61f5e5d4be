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

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:     "idempotence",
		summary:  "kill a leader under retrying producers: the idempotent one may not duplicate, the other's duplicates are counted",
		ops:      []cluster.Op{cluster.OpKill, cluster.OpStart},
		minNodes: 2, minRF: 2, needs: "a killed leader needs another replica to take over",
		body: idempotence,
	})
}

func idempotence(ctx context.Context, k *faultKit) error {
	retries := int(k.cfg.ElectionTimeout.Duration/retryBackoff) + 1
	retries = min(max(retries, 3), 100)
	for _, m := range []struct {
		suffix, prefix string
		mode           verify.Mode
	}{
		{"idempotent", "idempotent_", verify.Mode{Acks: "all", Idempotent: true, Retries: retries}},
		{"retrying", "retrying_", verify.Mode{Acks: "all", Retries: retries}},
	} {
		if err := k.createTopic(ctx, m.suffix); err != nil {
			return err
		}
		s, err := k.startStream(ctx, m.mode)
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
