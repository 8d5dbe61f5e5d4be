package kafka

import (
	"fmt"

	"github.com/IBM/sarama"
)

// ConnectLeaders opens the connection to every broker that leads a
// partition of topic and waits until each one is established (or failed).
//
// Sarama opens broker connections lazily, and when two partitions with the
// same leader start at once it can hand one of them the broker before the
// connection exists: that partition's first request then fails with "broker
// not connected". With produce retries off, that is a message failed without
// the cluster ever seeing it. Connecting before the first request avoids it.
func ConnectLeaders(client sarama.Client, topic string) error {
	parts, err := client.Partitions(topic)
	if err != nil {
		return fmt.Errorf("partitions of topic %s: %w", topic, err)
	}
	done := map[int32]bool{}
	for _, p := range parts {
		b, err := client.Leader(topic, p) // opens the connection, without waiting for it
		if err != nil {
			return fmt.Errorf("leader of partition %d of topic %s: %w", p, topic, err)
		}
		if done[b.ID()] {
			continue
		}
		done[b.ID()] = true
		// Connected waits for the connection that Leader started.
		if ok, err := b.Connected(); !ok {
			if err == nil {
				err = sarama.ErrNotConnected
			}
			return fmt.Errorf("connect to broker %d at %s (leader of partition %d of topic %s): %w", b.ID(), b.Addr(), p, topic, err)
		}
	}
	return nil
}
