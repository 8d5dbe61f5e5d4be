package scenarios

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/IBM/sarama"
)

// offsetsOf returns the log start offsets (at = sarama.OffsetOldest) or end
// offsets (sarama.OffsetNewest) of topic's partitions ids, in their order.
// It asks each leader broker once for all the partitions it leads, so that a
// topic of 1,000 partitions costs a request per broker, not per partition. A
// cluster that has just moved leaders or restarted nodes may answer with an
// error or drop a connection: it refreshes metadata and asks again, a few
// times within ctx.
func offsetsOf(ctx context.Context, client sarama.Client, topic string, ids []int32, at int64) ([]int64, error) {
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			if sleepCtx(ctx, time.Duration(attempt)*100*time.Millisecond) != nil {
				break
			}
			_, _ = within(ctx, func() (struct{}, error) { return struct{}{}, client.RefreshMetadata(topic) })
		}
		var out []int64
		if out, err = offsetsOnce(ctx, client, topic, ids, at); err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

func offsetsOnce(ctx context.Context, client sarama.Client, topic string, ids []int32, at int64) ([]int64, error) {
	what := "end offset"
	if at == sarama.OffsetOldest {
		what = "log start offset"
	}
	byLeader := map[int32][]int32{}
	brokers := map[int32]*sarama.Broker{}
	for _, p := range ids {
		b, err := client.Leader(topic, p)
		if err != nil {
			return nil, fmt.Errorf("%s of %s partition %d: no leader known: %w", what, topic, p, err)
		}
		byLeader[b.ID()] = append(byLeader[b.ID()], p)
		brokers[b.ID()] = b
	}
	leaders := make([]int32, 0, len(byLeader))
	for id := range byLeader {
		leaders = append(leaders, id)
	}
	slices.Sort(leaders)

	got := make(map[int32]int64, len(ids))
	version := client.Config().Version
	for _, id := range leaders {
		b, parts := brokers[id], byLeader[id]
		req := sarama.NewOffsetRequest(version)
		for _, p := range parts {
			req.AddBlock(topic, p, at, 1)
		}
		resp, err := within(ctx, func() (*sarama.OffsetResponse, error) { return b.GetAvailableOffsets(req) })
		if err != nil {
			// As sarama does, so that the next request reconnects; in the
			// background: Close waits for the answers still due on the
			// connection, up to the read timeout.
			go func() { _ = b.Close() }()
			return nil, fmt.Errorf("%s of %s partition %d (leader broker %d, asked for %d partitions): %w", what, topic, parts[0], id, len(parts), err)
		}
		for _, p := range parts {
			block := resp.GetBlock(topic, p)
			switch {
			case block == nil:
				err = sarama.ErrIncompleteResponse
			case !errors.Is(block.Err, sarama.ErrNoError):
				err = block.Err
			case len(block.Offsets) != 1:
				err = fmt.Errorf("%d offsets in the answer, want 1", len(block.Offsets))
			}
			if err != nil {
				return nil, fmt.Errorf("%s of %s partition %d (leader broker %d): %w", what, topic, p, id, err)
			}
			got[p] = block.Offsets[0]
		}
	}
	out := make([]int64, len(ids))
	for i, p := range ids {
		out[i] = got[p]
	}
	return out, nil
}

// partitionIDs returns topic's partitions from fresh metadata, in order.
func partitionIDs(client sarama.Client, topic string) ([]int32, error) {
	if err := client.RefreshMetadata(topic); err != nil {
		return nil, fmt.Errorf("metadata for topic %s: %w", topic, err)
	}
	ps, err := client.Partitions(topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of topic %s: %w", topic, err)
	}
	ps = slices.Clone(ps)
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps, nil
}
