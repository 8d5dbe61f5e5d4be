package scenarios

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/IBM/sarama"
)

// offsets returns the log start offsets (at = sarama.OffsetOldest) or high
// watermarks (sarama.OffsetNewest) of the topic's partitions ids, in their
// order. It asks each leader broker once for all the partitions it leads, so
// that a topic of 1,000 partitions costs a request per broker, not per
// partition.
func (e *Env) offsets(ctx context.Context, ids []int32, at int64) ([]int64, error) {
	if at == sarama.OffsetOldest && e.readFrom != nil { // an existing topic: this run's records start here
		from := make([]int64, len(ids))
		for i, p := range ids {
			from[i] = e.readFrom[p]
		}
		return from, nil
	}
	what := "high watermark"
	if at == sarama.OffsetOldest {
		what = "log start offset"
	}
	byLeader := map[int32][]int32{}
	brokers := map[int32]*sarama.Broker{}
	for _, p := range ids {
		b, err := e.Client.Leader(e.Topic, p)
		if err != nil {
			return nil, fmt.Errorf("%s of partition %d: no leader known: %w", what, p, err)
		}
		byLeader[b.ID()] = append(byLeader[b.ID()], p)
		brokers[b.ID()] = b
	}
	leaders := make([]int32, 0, len(byLeader))
	for id := range byLeader {
		leaders = append(leaders, id)
	}
	sort.Slice(leaders, func(i, j int) bool { return leaders[i] < leaders[j] })

	got := make(map[int32]int64, len(ids))
	version := e.Config().Version
	for _, id := range leaders {
		b, parts := brokers[id], byLeader[id]
		req := sarama.NewOffsetRequest(version)
		for _, p := range parts {
			req.AddBlock(e.Topic, p, at, 1)
		}
		resp, err := within(ctx, func() (*sarama.OffsetResponse, error) { return b.GetAvailableOffsets(req) })
		if err != nil {
			_ = b.Close() // as sarama does: the next request reconnects
			return nil, fmt.Errorf("%s of partition %d (leader broker %d, asked for %d partitions): %w", what, parts[0], id, len(parts), err)
		}
		for _, p := range parts {
			block := resp.GetBlock(e.Topic, p)
			switch {
			case block == nil:
				err = sarama.ErrIncompleteResponse
			case !errors.Is(block.Err, sarama.ErrNoError):
				err = block.Err
			case len(block.Offsets) != 1:
				err = fmt.Errorf("%d offsets in the answer, want 1", len(block.Offsets))
			}
			if err != nil {
				return nil, fmt.Errorf("%s of partition %d (leader broker %d): %w", what, p, id, err)
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
