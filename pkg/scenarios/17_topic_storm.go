package scenarios

// topic-storm loads the cluster's catalog the way Chronik's own scale
// regression does: it creates storm.topics topics (topic.partitions
// partitions, topic.replication_factor replicas, names from the run's topic
// name) with storm.parallelism CreateTopics in flight, each worker on a
// client of its own, through the retrying createTopic. Then it asks every
// broker directly for its metadata, polling with backoff (never a fixed
// sleep) until each lists exactly the created topics with every partition
// led, within storm.converge_timeout. It writes storm.messages_per_topic
// messages to each topic with acks=all and checks each partition's end
// offset holds what was acknowledged. With storm.restart it stops every
// node, starts them all, and checks again that every broker lists the same
// topics, led, within storm.converge_timeout, and that the counts still hold.
//
// Fails: a creation the cluster acknowledged that no broker lists (creation
// loss, naming the topics); a broker whose catalog lacks topics others list
// (divergence, naming the broker and the topics); topics listed without a
// leader; a broker that does not answer or a node missing from metadata;
// a partition holding fewer records than were acknowledged to it; any of
// these after the restart.
// Measures: creation time and rate, the time until every broker listed
// every topic, the same after the restart.
// Not applicable: storm.restart without node control.
// Cannot detect: records acknowledged and kept but corrupted (it counts
// records, it does not read them: produce and consume do); divergence that
// heals within the convergence window, or a catalog that flaps and happens to
// agree at one poll (it waits for agreement, as a client would); a storm
// topic's leader that no broker advertises, or replicas and in-sync replicas
// short of the replication factor (metadata checks those for the run's
// topic, the storm only for leaders); a catalog that diverges only under
// other load.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

func init() { Register(topicStorm{}) }

type topicStorm struct{}

var _ Scenario = topicStorm{}

func (topicStorm) Name() string       { return "topic-storm" }
func (topicStorm) Requires() []string { return nil }
func (topicStorm) Summary() string {
	return "create storm.topics topics at once, write to each, and check every broker lists exactly them, led, before and after a restart"
}

// FaultsNodes reports true: with storm.restart the storm restarts every node.
func (topicStorm) FaultsNodes() bool { return true }

// stormTopics names the storm's topics: the run's topic name, "-storm-" and
// a number, so that `topics clean` recognises them; a fixed topic.name gets
// the run id as well, so that every run's storm is fresh.
func stormTopics(env *Env, n int) (prefix string, names []string) {
	prefix = env.Topic + "-storm-"
	if env.Profile.Topic.Name != "" {
		prefix = fmt.Sprintf("%s-storm-%08x-", env.Topic, uint32(env.RunID))
	}
	width := len(fmt.Sprint(n))
	for i := 1; i <= n; i++ {
		names = append(names, fmt.Sprintf("%s%0*d", prefix, width, i))
	}
	return prefix, names
}

func (topicStorm) Run(ctx context.Context, env *Env, step *Step) error {
	s := env.Profile.Storm
	var k *faultKit
	if s.Restart {
		var err error
		if k, err = newFaultKit(env, step, "topic-storm", cluster.OpStop, cluster.OpStart); err != nil {
			if IsNotApplicable(err) {
				return NotApplicable("storm.restart: %s (storm.restart: false storms without the restart)", err.(*NotApplicableError).Reason)
			}
			return err
		}
		defer k.done(ctx)
	}
	prefix, names := stormTopics(env, s.Topics)
	t := env.Profile.Topic
	step.Metric("topics", float64(len(names)))

	// 1. The storm of CreateTopics.
	start := time.Now()
	acked, err := createStorm(ctx, env, step, names, s.Parallelism)
	if err != nil {
		return err
	}
	took := time.Since(start)
	step.Metric("created", float64(len(acked)))
	step.Metric("create_s", took.Seconds())
	if took > 0 {
		step.Metric("creates_per_s", float64(len(acked))/took.Seconds())
	}
	step.Notef("%d of %d topic(s) created in %s with %d CreateTopics in flight", len(acked), len(names), took.Round(time.Millisecond), s.Parallelism)
	if len(acked) == 0 {
		return fmt.Errorf("the cluster acknowledged none of the %d CreateTopics (see the findings)", len(names))
	}

	// 2. Every broker lists exactly them, each partition led.
	poller := newCatalogPoller(env, prefix, t.Partitions, env.Report.Cluster.Brokers)
	defer poller.close()
	gap, waited, err := awaitCatalog(ctx, env, step, poller, acked, s.ConvergeTimeout.Duration, "")
	if err != nil {
		return err
	}
	if gap.converged() {
		step.Metric("converge_s", waited.Seconds())
		step.Notef("every broker (%d) listed the %d topic(s), each partition led, %s after the last creation", len(poller.brokers), len(acked), waited.Round(time.Millisecond))
	}
	listed := listedByAll(acked, gap)

	// 3. Write to each topic and count it back.
	var w *stormWrite
	if s.MessagesPerTopic > 0 && len(listed) > 0 {
		if w, err = writeStorm(ctx, env, step, listed, t.Partitions, s.MessagesPerTopic); err != nil {
			return err
		}
		if err := w.check(ctx, env, step, ""); err != nil {
			return err
		}
	}

	// 4. Restart the cluster; the catalog and the counts must come back.
	if k == nil {
		return nil
	}
	if step.Failed() {
		step.Notef("the cluster was not restarted: the storm had already failed before the restart (above)")
		return nil
	}
	for _, op := range []cluster.Op{cluster.OpStop, cluster.OpStart} {
		for _, n := range k.nodes {
			if _, err := k.do(ctx, op, n); err != nil {
				return err
			}
		}
	}
	gap, waited, err = awaitCatalog(ctx, env, step, poller, listed, s.ConvergeTimeout.Duration, "after the restart: ")
	if err != nil {
		return err
	}
	if gap.converged() {
		step.Metric("restart_converge_s", waited.Seconds())
		step.Notef("after the restart every broker listed the %d topic(s) again, each partition led, %s after the last node started", len(listed), waited.Round(time.Millisecond))
	}
	if w != nil {
		// The topics the restart lost are named above; the rest are counted.
		return w.only(listedByAll(listed, gap)).check(ctx, env, step, "after the restart: ")
	}
	return nil
}

// createStorm creates names with parallelism workers, each with an admin
// client of its own, and returns the names whose creation the cluster
// acknowledged, in order. Every failed creation is a finding; retries are
// summed up in notes. Every name is noted for deletion (topic.delete): a
// failed creation may have created the topic.
func createStorm(ctx context.Context, env *Env, step *Step, names []string, parallelism int) ([]string, error) {
	parallelism = min(parallelism, len(names))
	admins := make([]sarama.ClusterAdmin, 0, parallelism)
	defer func() {
		for _, a := range admins {
			closeWithin(context.WithoutCancel(ctx), 5*time.Second, func() { _ = a.Close() })
		}
	}()
	for range parallelism {
		cfg := env.Config()
		cfg.Admin.Timeout = 30 * time.Second // the CreateTopics request's own timeout on a busy controller
		a, err := within(ctx, func() (sarama.ClusterAdmin, error) { return sarama.NewClusterAdmin(env.Cluster.Bootstrap(), cfg) })
		if err != nil {
			return nil, fmt.Errorf("admin client %d of %d for the storm against %v: %w", len(admins)+1, parallelism, env.Cluster.Bootstrap(), err)
		}
		admins = append(admins, a)
	}
	for _, n := range names {
		env.noteTopic(n)
	}

	t := env.Profile.Topic
	detail := &sarama.TopicDetail{NumPartitions: int32(t.Partitions), ReplicationFactor: int16(t.ReplicationFactor)}
	type outcome struct {
		err   error
		notes []string // the retries' notes
	}
	out := make([]outcome, len(names))
	var next atomic.Int64
	progress := env.progress("create topics", int64(len(names)))
	var wg sync.WaitGroup
	for i, a := range admins {
		wg.Add(1)
		env.Panics.Go(fmt.Sprintf("storm creator %d", i), func() {
			defer wg.Done()
			for {
				j := int(next.Add(1) - 1)
				if j >= len(names) || ctx.Err() != nil {
					return
				}
				scratch := &report.Scenario{}
				err := createTopicWith(ctx, a, NewStep(scratch), names[j], detail)
				out[j] = outcome{err: err, notes: scratch.Notes}
				progress.Add(1)
			}
		})
	}
	wg.Wait()
	progress.Done()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("creating %d topics: %s", len(names), stopped(ctx))
	}

	var acked, failed []string
	retried := 0
	for j, o := range out {
		if len(o.notes) > 0 {
			retried++
			if retried <= 3 {
				step.Notef("%s", o.notes[len(o.notes)-1])
			}
		}
		switch {
		case o.err == nil:
			acked = append(acked, names[j])
		case errors.Is(o.err, sarama.ErrTopicAlreadyExists):
			failed = append(failed, names[j])
			step.Failf("topic %s existed before the storm created it: its name comes from the run id, so an earlier run with the same id or another client made it", names[j])
		default:
			failed = append(failed, names[j])
			if len(failed) <= maxNamed {
				step.Failf("%v", o.err)
			}
		}
	}
	if retried > 3 {
		step.Notef("%d creations in all needed retries (the last three's notes are above)", retried)
	}
	if len(failed) > maxNamed {
		step.Failf("%d of %d CreateTopics failed in all (the first %d are above): %s", len(failed), len(names), maxNamed, nameSome(failed))
	}
	return acked, nil
}

// awaitCatalog polls every broker until each lists exactly want with every
// partition led, timeout has passed or ctx ends. A gap left at the
// deadline is recorded as findings, each starting with prefix. It returns
// the last gap and how long it waited; an error only when ctx ended.
func awaitCatalog(ctx context.Context, env *Env, step *Step, poller *catalogPoller, want []string, timeout time.Duration, prefix string) (*catalogGap, time.Duration, error) {
	start := time.Now()
	wctx, cancel := context.WithTimeoutCause(ctx, timeout, waitEnded(fmt.Sprintf("storm.converge_timeout (%s) passed", timeout)))
	defer cancel()
	backoff := 50 * time.Millisecond
	for poll := 1; ; poll++ {
		views := poller.poll(wctx)
		if ctx.Err() != nil {
			return nil, time.Since(start), fmt.Errorf("%swaiting for every broker to list %d topic(s): %s", prefix, len(want), stopped(ctx))
		}
		gap := compareCatalogs(views, want, env.Profile.Cluster.Nodes)
		if gap.converged() {
			if poll > 1 {
				step.Notef("%sthe brokers' catalogs converged after %d polls", prefix, poll)
			}
			return gap, time.Since(start), nil
		}
		env.status("  topic-storm: %swaiting up to %s for every broker to list %d topic(s): %s", prefix, timeout, len(want), gap.progress())
		if wctx.Err() != nil || time.Since(start)+backoff > timeout {
			step.Notef("%sthe brokers had not converged after %s (%d polls): %s", prefix, time.Since(start).Round(time.Millisecond), poll, gap.progress())
			loss := "creation loss"
			if prefix != "" {
				loss = "topic loss"
			}
			for _, f := range gap.findings(views, time.Since(start), loss) {
				step.Failf("%s%s", prefix, f)
			}
			return gap, time.Since(start), nil
		}
		select {
		case <-wctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// listedByAll returns the topics of want every broker lists with every
// partition led (all of them when the catalogs converged), in want's order:
// those the storm writes to and counts; the others are findings already.
func listedByAll(want []string, gap *catalogGap) []string {
	gone := map[string]bool{}
	for _, t := range gap.lost {
		gone[t] = true
	}
	for _, m := range []map[int32][]string{gap.missing, gap.leaderless} {
		for _, ts := range m {
			for _, t := range ts {
				gone[t] = true
			}
		}
	}
	var out []string
	for _, t := range want {
		if !gone[t] {
			out = append(out, t)
		}
	}
	return out
}

// topicPart is one partition of one topic.
type topicPart struct {
	topic     string
	partition int32
}

// stormWrite is what the cluster acknowledged of the storm's messages:
// per partition, how many and the highest offset.
type stormWrite struct {
	topics     []string
	partitions int
	acked      map[topicPart]int64
	last       map[topicPart]int64
	total      int64
}

// writeStorm writes per messages to each topic, spread over its
// partitions, with acks=all, and returns what was acknowledged; failed
// sends are findings.
func writeStorm(ctx context.Context, env *Env, step *Step, topics []string, partitions, per int) (*stormWrite, error) {
	cfg := env.Config()
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	// Every leader connected before the first send (see kafka.ConnectLeaders).
	client, err := within(ctx, func() (sarama.Client, error) {
		client, err := sarama.NewClient(env.Cluster.Bootstrap(), cfg)
		if err != nil {
			return nil, err
		}
		for _, t := range topics {
			if err := kafka.ConnectLeaders(client, t); err != nil {
				_ = client.Close()
				return nil, err
			}
		}
		return client, nil
	})
	if err != nil {
		return nil, fmt.Errorf("producer for the storm's topics against %v: %w", env.Cluster.Bootstrap(), err)
	}
	defer closeWithin(context.WithoutCancel(ctx), 10*time.Second, func() { _ = client.Close() })
	prod, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("producer for the storm's topics against %v: %w", env.Cluster.Bootstrap(), err)
	}
	defer closeWithin(context.WithoutCancel(ctx), 10*time.Second, func() { _ = prod.Close() })

	w := &stormWrite{topics: topics, partitions: partitions, acked: map[topicPart]int64{}, last: map[topicPart]int64{}}
	var msgs []*sarama.ProducerMessage
	for _, t := range topics {
		for j := range per {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: t, Partition: int32(j % partitions),
				Value: sarama.StringEncoder(fmt.Sprintf("chronik-e2e storm %016x %s %d", env.RunID, t, j))})
		}
	}
	start := time.Now()
	progress := env.progress("write to the storm's topics", int64(len(msgs)))
	defer progress.Done()
	var failed []string
	const batch = 2000
	for from := 0; from < len(msgs); from += batch {
		part := msgs[from:min(from+batch, len(msgs))]
		_, err := within(ctx, func() (struct{}, error) { return struct{}{}, prod.SendMessages(part) })
		if ctx.Err() != nil {
			return nil, fmt.Errorf("writing to the storm's topics: %s", stopped(ctx))
		}
		bad := map[*sarama.ProducerMessage]error{}
		var perrs sarama.ProducerErrors
		if errors.As(err, &perrs) {
			for _, pe := range perrs {
				bad[pe.Msg] = pe.Err
			}
		} else if err != nil {
			return nil, fmt.Errorf("writing to the storm's topics: %w", err)
		}
		for _, m := range part {
			if e, ok := bad[m]; ok {
				failed = append(failed, fmt.Sprintf("%s partition %d: %v", m.Topic, m.Partition, e))
				continue
			}
			tp := topicPart{m.Topic, m.Partition}
			w.acked[tp]++
			w.total++
			w.last[tp] = max(w.last[tp], m.Offset)
		}
		progress.Add(len(part))
	}
	step.Metric("messages_acked", float64(w.total))
	step.Notef("%d of %d message(s) acknowledged (acks=all) in %s", w.total, len(msgs), time.Since(start).Round(time.Millisecond))
	if len(failed) > 0 {
		step.Failf("%d of %d message(s) to the storm's topics were not acknowledged, e.g. %s", len(failed), len(msgs), failed[0])
	}
	return w, nil
}

// only returns w narrowed to topics.
func (w *stormWrite) only(topics []string) *stormWrite {
	n := *w
	n.topics, n.total = topics, 0
	for _, t := range topics {
		for p := range int32(w.partitions) {
			n.total += w.acked[topicPart{t, p}]
		}
	}
	return &n
}

// check lists every partition's log start and end offset and fails each
// partition holding fewer records than were acknowledged to it, or whose end
// offset is not past the last acknowledged offset. A cluster that has just
// restarted may answer with an error, or with a high watermark that has not
// caught up yet: partitions are asked again, with backoff, for up to
// storm.converge_timeout before they fail. Findings start with prefix.
func (w *stormWrite) check(ctx context.Context, env *Env, step *Step, prefix string) error {
	ids := make([]int32, w.partitions)
	for i := range ids {
		ids[i] = int32(i)
	}
	type counted struct {
		problems []string // short partitions, or why the topic could not be counted
		counting bool     // problems say the topic could not be counted
		held     int64
	}
	got := make([]counted, len(w.topics))
	count := func(j int) counted {
		topic := w.topics[j]
		starts, err := offsetsOf(ctx, env.Client, topic, ids, sarama.OffsetOldest)
		var ends []int64
		if err == nil {
			ends, err = offsetsOf(ctx, env.Client, topic, ids, sarama.OffsetNewest)
		}
		if err != nil {
			return counted{problems: []string{err.Error()}, counting: true}
		}
		var c counted
		for i, p := range ids {
			tp := topicPart{topic, p}
			n := ends[i] - starts[i]
			c.held += n
			if n < w.acked[tp] || w.acked[tp] > 0 && ends[i] <= w.last[tp] {
				c.problems = append(c.problems, fmt.Sprintf("%s partition %d holds %d record(s) (log start %d, end offset %d), %d acknowledged (the last at offset %d)",
					topic, p, n, starts[i], ends[i], w.acked[tp], w.last[tp]))
			}
		}
		return c
	}

	start := time.Now()
	budget := env.Profile.Storm.ConvergeTimeout.Duration
	pending := make([]int, len(w.topics))
	for j := range pending {
		pending[j] = j
	}
	backoff := 100 * time.Millisecond
	for round := 1; ; round++ {
		var next atomic.Int64
		var wg sync.WaitGroup
		for i := range min(env.Profile.Storm.Parallelism, len(pending)) {
			wg.Add(1)
			env.Panics.Go(fmt.Sprintf("storm offset lister %d", i), func() {
				defer wg.Done()
				for k := int(next.Add(1) - 1); k < len(pending) && ctx.Err() == nil; k = int(next.Add(1) - 1) {
					got[pending[k]] = count(pending[k])
				}
			})
		}
		wg.Wait()
		if ctx.Err() != nil {
			return fmt.Errorf("%scounting the storm's records: %s", prefix, stopped(ctx))
		}
		var again []int
		for _, j := range pending {
			if len(got[j].problems) > 0 {
				again = append(again, j)
			}
		}
		if len(again) == 0 && round > 1 {
			step.Notef("%severy partition held its acknowledged records after %d rounds of counting in %s", prefix, round, time.Since(start).Round(time.Millisecond))
		}
		if len(again) == 0 || time.Since(start)+backoff > budget {
			break
		}
		env.status("  topic-storm: %s%d topic(s) not counted whole yet; asking again for up to %s", prefix, len(again), budget)
		if err := sleepCtx(ctx, backoff); err != nil {
			return fmt.Errorf("%scounting the storm's records: %w", prefix, err)
		}
		pending, backoff = again, min(2*backoff, time.Second)
	}

	var short, unlisted []string
	var held int64
	for _, c := range got {
		held += c.held
		if c.counting {
			unlisted = append(unlisted, c.problems...)
		} else {
			short = append(short, c.problems...)
		}
	}
	sort.Strings(short)
	for _, s := range short[:min(len(short), maxNamed)] {
		step.Failf("%sacknowledged records missing: %s", prefix, s)
	}
	if len(short) > maxNamed {
		step.Failf("%s%d partition(s) in all hold fewer records than were acknowledged to them", prefix, len(short))
	}
	for _, u := range unlisted[:min(len(unlisted), maxNamed)] {
		step.Failf("%sthe records could not be counted: %s", prefix, u)
	}
	if len(unlisted) > maxNamed {
		step.Failf("%sthe records of %d topic(s) in all could not be counted", prefix, len(unlisted))
	}
	if len(short) == 0 && len(unlisted) == 0 {
		step.Notef("%severy partition of the %d topic(s) holds the records acknowledged to it (%d acknowledged, %d held)", prefix, len(w.topics), w.total, held)
	}
	return nil
}
