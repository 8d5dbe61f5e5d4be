package scenarios

import (
	"context"
	"fmt"
	"io"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
)

// startClient connects a client with cfg to the cluster and to every leader
// of topic (see kafka.ConnectLeaders), then opens on it what open makes (a
// producer, a consumer). When ctx ends first, what was started is closed
// once it is.
func startClient[T io.Closer](ctx context.Context, env *Env, topic string, cfg *sarama.Config, open func(sarama.Client) (T, error)) (sarama.Client, T, error) {
	type started struct {
		client sarama.Client
		v      T
		err    error
	}
	ch := make(chan started, 1)
	safe.FromContext(ctx).Go("connecting a client", func() {
		client, err := sarama.NewClient(env.Cluster.Bootstrap(), cfg)
		if err != nil {
			ch <- started{err: err}
			return
		}
		if err := kafka.ConnectLeaders(client, topic); err != nil {
			_ = client.Close()
			ch <- started{err: err}
			return
		}
		v, err := open(client)
		if err != nil {
			_ = client.Close()
			ch <- started{err: err}
			return
		}
		ch <- started{client, v, nil}
	})
	select {
	case s := <-ch:
		return s.client, s.v, s.err
	case <-ctx.Done():
		go func() {
			if s := <-ch; s.err == nil {
				_ = s.v.Close()
				_ = s.client.Close()
			}
		}()
		var zero T
		return nil, zero, fmt.Errorf("no answer: %s", stopped(ctx))
	}
}
