package runner

import (
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// Leftover is a topic an earlier run left behind, as `topics clean` sees it.
type Leftover struct {
	Topic string `json:"topic"`
	// Records is how many records the topic holds (sum of its high watermarks).
	Records int64 `json:"records"`
	// Removed is set once the topic is deleted.
	Removed bool `json:"removed"`
	// Kept says why the topic was left alone; empty when it was removed or
	// would be (with --dry-run).
	Kept string `json:"kept,omitempty"`
	// Error is why deleting it failed.
	Error string `json:"error,omitempty"`
}

// FindLeftovers lists the topics whose names the runner generates
// (profile.GeneratedTopic) and judges each against olderThan: a topic with a
// record written within olderThan is kept, and so is an empty one (its age
// is unknown) unless olderThan is 0. Other topics are never listed.
func FindLeftovers(client sarama.Client, olderThan time.Duration, now time.Time) ([]Leftover, error) {
	if err := client.RefreshMetadata(); err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	names, err := client.Topics()
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	slices.Sort(names)
	var out []Leftover
	for _, name := range names {
		if !profile.GeneratedTopic.MatchString(name) {
			continue
		}
		l := Leftover{Topic: name}
		young, err := inspect(client, &l, now.Add(-olderThan))
		switch {
		case err != nil:
			l.Kept = fmt.Sprintf("its records could not be read: %v", err)
		case olderThan <= 0:
		case l.Records == 0:
			l.Kept = "it holds no record, so its age is unknown (--older-than 0 removes it)"
		case young:
			l.Kept = fmt.Sprintf("it holds records written in the last %s (--older-than)", profile.Duration{Duration: olderThan})
		}
		out = append(out, l)
	}
	return out, nil
}

// inspect counts the records of a topic and reports whether any of them has
// a timestamp at or after since (ListOffsets by timestamp).
func inspect(client sarama.Client, l *Leftover, since time.Time) (young bool, err error) {
	parts, err := client.Partitions(l.Topic)
	if err != nil {
		return false, err
	}
	for _, p := range parts {
		hwm, err := client.GetOffset(l.Topic, p, sarama.OffsetNewest)
		if err != nil {
			return false, fmt.Errorf("partition %d: %w", p, err)
		}
		start, err := client.GetOffset(l.Topic, p, sarama.OffsetOldest)
		if err != nil {
			return false, fmt.Errorf("partition %d: %w", p, err)
		}
		l.Records += max(0, hwm-start)
		if hwm <= start {
			continue
		}
		// The first offset whose record is at or after since; -1 or the
		// high watermark when there is none.
		off, err := client.GetOffset(l.Topic, p, since.UnixMilli())
		if err != nil {
			return false, fmt.Errorf("partition %d: %w", p, err)
		}
		if off >= 0 && off < hwm {
			young = true
		}
	}
	return young, nil
}

// RemoveLeftovers deletes every listed topic that is not kept.
func RemoveLeftovers(admin sarama.ClusterAdmin, ls []Leftover) {
	for i := range ls {
		if ls[i].Kept != "" {
			continue
		}
		if err := admin.DeleteTopic(ls[i].Topic); err != nil {
			ls[i].Error = err.Error()
			continue
		}
		ls[i].Removed = true
	}
}
