package verify

import (
	"fmt"
	"strings"
)

// Mode is how a producer sends: the properties the guarantee rules judge by.
type Mode struct {
	Acks       string // "0", "1" or "all"
	Idempotent bool
	Retries    int // the producer's own retries; 0: every failure is counted
	// ClientReordered says that the producer itself may have sent a
	// partition's messages out of order: sarama's producer without retries
	// after an answer failed (ClientReorders).
	ClientReordered bool
}

// String names the mode: "acks=all idempotent".
func (m Mode) String() string {
	s := "acks=" + m.Acks
	switch {
	case m.Idempotent:
		s += " idempotent"
	case m.Retries > 0:
		s += " retrying"
	}
	return s
}

// ClientReorders is why a producer of Mode.ClientReordered may have
// reordered its own messages.
const ClientReorders = "sarama's producer without retries answered a failure: it then gives up that broker's producer and " +
	"sends the partition's next messages through a new one, while the one it gave up still holds earlier messages of the " +
	"partition and may send them after the later ones, so a reordering may be the client's, not the cluster's"

// Allowance is what the guarantee rules allow one producer: a loss,
// duplicate or reordering they allow is reported, not failed, with Why.
type Allowance struct {
	Loss, Duplicates, Reorder bool
	Why                       string
}

// Allowed returns what a producer of mode may lose, duplicate or reorder
// with replication factor rf; leaderHit says whether a fault took down a
// node that led one of its partitions (false on a healthy cluster).
func Allowed(mode Mode, rf int, leaderHit bool) Allowance {
	var a Allowance
	var why []string
	switch {
	case mode.Acks == "0":
		a.Loss = true
		why = append(why, "acks=0: nothing is acknowledged, so what does not come back is counted, not failed")
	case mode.Acks == "1" && leaderHit:
		a.Loss = true
		why = append(why, "acks=1 with a leader down: a leader acknowledges before its followers copy, so its last writes may be lost")
	case rf < 2 && leaderHit:
		a.Loss = true
		why = append(why, "replication factor 1 with its node down: there is no other copy")
	case leaderHit:
		why = append(why, fmt.Sprintf("acks=%s with replication factor %d through one failure: no acknowledged message may be lost", mode.Acks, rf))
	default:
		why = append(why, fmt.Sprintf("acks=%s without a fault: no acknowledged message may be lost", mode.Acks))
	}
	switch {
	case mode.Idempotent:
		why = append(why, "idempotent: the broker drops retried batches it already has, so no duplicates")
	case mode.Retries > 0 && mode.Acks != "0": // without an answer there is nothing to retry on
		a.Duplicates, a.Reorder = true, true
		why = append(why, fmt.Sprintf("retries=%d without idempotence: a retried batch whose first attempt was written is written twice, and may land after later batches", mode.Retries))
	default:
		why = append(why, "no retries: a duplicate can only come from the cluster")
	}
	if mode.ClientReordered && !a.Reorder {
		a.Reorder = true
		why = append(why, ClientReorders)
	}
	a.Why = strings.Join(why, "; ")
	return a
}

// Guarantee is one row of the guarantee table: what a producer mode may
// lose or duplicate through one node failure, and why.
type Guarantee struct {
	Acks              string
	Idempotent        bool
	ReplicationFactor string
	Loss, Duplicates  string
	Why               string
}

// Table is the guarantee table the report shows, from the same rules as Allowed.
func Table() []Guarantee {
	row := func(acks string, idem bool, rf string, loss, dups, why string) Guarantee {
		return Guarantee{Acks: acks, Idempotent: idem, ReplicationFactor: rf, Loss: loss, Duplicates: dups, Why: why}
	}
	return []Guarantee{
		row("0", false, "any", "allowed", "never", "nothing is acknowledged: loss is counted and reported, not failed; acks=0 cannot retry"),
		row("1", false, "any", "allowed", "if retried", "the leader acknowledges alone: writes it had not passed on are lost when it dies"),
		row("all", false, "1", "allowed", "if retried", "one replica: acks=all is acks=1"),
		row("all", false, ">=2", "never", "if retried", "every in-sync replica has the write before it is acknowledged; a retry of a written batch duplicates it"),
		row("all", true, "1", "allowed", "never", "one replica; the broker drops a retried batch by producer id and sequence"),
		row("all", true, ">=2", "never", "never", "replicated before acknowledged, and retries deduplicated: exactly once per partition"),
	}
}
