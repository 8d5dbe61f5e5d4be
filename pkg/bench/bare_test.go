package bench

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// Ctrl-C while the bare producer is being fed (at its first produce
// request): BareProduce returns the context's error. It closed the producer
// under its feeding goroutine, whose next send panicked (send on closed
// channel), killing bench before it stopped its cluster process.
func TestBareProduceInterrupted(t *testing.T) {
	c, err := cluster.StartEmbedded(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	kc := c.Kfake()
	held := make(chan struct{})
	var once sync.Once
	kc.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		once.Do(func() { close(held) })
		return nil, nil, false
	})
	cfg := kafka.ConfigFor(sarama.V3_6_0_0)
	cfg.Producer.Return.Successes = true
	client, err := sarama.NewClient(c.Bootstrap(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic("bare", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	keys := workload.Keys(10)
	values := Payloads(300_000, keys, 100, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-held; cancel() }()
	if _, err := BareProduce(ctx, client, "bare", keys, values); !errors.Is(err, context.Canceled) {
		t.Fatalf("BareProduce: %v, want %v", err, context.Canceled)
	}
}
