package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// ShardReport is one shard's report, as `report merge` read it from File.
type ShardReport struct {
	File   string
	Report *Report
}

// Merge combines the reports of every shard of one run group into one
// report: delivery counts summed, latency histograms merged exactly,
// throughput summed over the window from the first shard's first send (or
// read) to the last shard's last answer (or read), every shard's findings named by
// shard, and a verdict that passes only if every shard passed. Reports of
// different run groups, topics or workloads, a shard given twice or
// missing, and a report without its latency histogram are an error.
func Merge(in []ShardReport) (*Report, error) {
	if len(in) == 0 {
		return nil, errors.New("report merge needs the shards' JSON reports")
	}
	first := in[0]
	if err := sameGroup(in); err != nil {
		return nil, err
	}
	in = slices.Clone(in)
	slices.SortFunc(in, func(a, b ShardReport) int { return a.Report.Shard.Index - b.Report.Shard.Index })

	f := first.Report
	m := &Report{SchemaVersion: SchemaVersion, Profile: f.Profile, ProfileSource: f.ProfileSource, ProfileDigest: f.ProfileDigest,
		ToolVersion: f.ToolVersion, Tags: f.Tags, RunID: f.RunID, Config: f.Config, Cluster: f.Cluster, Leaders: f.Leaders,
		AllowNotApplicable: true, Scenarios: []*Scenario{}, Partitions: slices.Clone(f.Partitions)}
	m.Cluster.Resources = mergeResources(in)
	m.Shard = &Shard{Group: f.Shard.Group, Index: -1, Count: f.Shard.Count, LastSeq: f.Config.Messages - 1, LastKey: f.Config.Keys - 1}
	for i := range m.Partitions {
		m.Partitions[i].Messages, m.Partitions[i].HighWatermark = 0, 0
	}
	var (
		start, end             time.Time
		produceWin, consumeWin window
		answered, produceMB    float64
		read, readMB           float64
		produce, e2e           = workload.NewLatency(), workload.NewLatency()
		haveE2E                = true
		untested               = map[string]bool{}
		failedByError          = map[string]int64{}
		lostByCause            = map[string]int64{}
		byName                 = map[string]*Scenario{}
		checksFailed, gateOnly bool
	)
	for _, sr := range in {
		r, sh := sr.Report, sr.Report.Shard
		who := fmt.Sprintf("shard %d", sh.Index)
		rs, re := r.StartedAt, r.StartedAt.Add(time.Duration(r.DurationS*float64(time.Second)))
		if start.IsZero() || rs.Before(start) {
			start = rs
		}
		if re.After(end) {
			end = re
		}
		m.Produced, m.Consumed = m.Produced || r.Produced, m.Consumed || r.Consumed
		m.Interrupted = m.Interrupted || r.Interrupted
		m.AllowNotApplicable = m.AllowNotApplicable && r.AllowNotApplicable
		m.InternalErrors = append(m.InternalErrors, r.InternalErrors...)
		for _, u := range r.Untested {
			untested[u] = true
		}
		if r.Error != "" {
			m.Error = strings.TrimPrefix(m.Error+"; ", "; ") + who + ": " + r.Error
		}

		// Delivery, summed.
		d, c := &m.Delivery, r.Delivery.Counts
		d.Sent += c.Sent
		d.Acked += c.Acked
		d.Failed += c.Failed
		d.Consumed += c.Consumed
		d.Lost += c.Lost
		d.Duplicated += c.Duplicated
		d.Reordered += c.Reordered
		d.Unexpected += c.Unexpected
		d.Misplaced += c.Misplaced
		d.UnackedRead += c.UnackedRead
		d.SiblingsRead += c.SiblingsRead
		d.Losses = append(d.Losses, c.Losses...)
		for k, v := range c.LostByCause {
			lostByCause[k] += v
		}
		for k, v := range r.Delivery.FailedByError {
			failedByError[k] += v
		}
		for _, p := range r.Partitions {
			if p.ID >= 0 && int(p.ID) < len(m.Partitions) && m.Partitions[p.ID].ID == p.ID {
				m.Partitions[p.ID].Messages += p.Messages
				m.Partitions[p.ID].HighWatermark = max(m.Partitions[p.ID].HighWatermark, p.HighWatermark)
			}
		}

		// Throughput and latency.
		t := r.Throughput
		if r.Produced && t.ProduceStartedAt != nil {
			produceWin.add(*t.ProduceStartedAt, t.ProduceDurationS)
			answered += t.ProduceMsgsPerS * t.ProduceDurationS
			produceMB += t.ProduceMBPerS * t.ProduceDurationS
		}
		if r.Consumed && t.ConsumeStartedAt != nil {
			consumeWin.add(*t.ConsumeStartedAt, t.ConsumeDurationS)
			read += t.ConsumeMsgsPerS * t.ConsumeDurationS
			readMB += t.ConsumeMBPerS * t.ConsumeDurationS
		}
		if r.Produced && (r.Delivery.Sent > 0 || r.Latency.HDR != "") {
			h, err := decodeHDR(sr.File, "latency_ms", r.Latency.HDR)
			if err != nil {
				return nil, err
			}
			if h.Count() > r.Delivery.Sent {
				return nil, fmt.Errorf("%s: its latency histogram holds %d answer(s), more than its %d send(s): the report was edited or is corrupt; run the shard again", sr.File, h.Count(), r.Delivery.Sent)
			}
			produce.Merge(h)
		}
		if r.EndToEnd == nil {
			haveE2E = false
		} else if h, err := decodeHDR(sr.File, "end_to_end_latency_ms", r.EndToEnd.HDR); err != nil {
			return nil, err
		} else {
			e2e.Merge(h)
		}

		// Scenarios, by name, each finding saying whose it is.
		for _, s := range r.Scenarios {
			ms := byName[s.Name]
			if ms == nil {
				ms = &Scenario{Name: s.Name, Passed: true, Skipped: true, NotApplicable: true, NotRun: true, Findings: []string{}}
				byName[s.Name] = ms
				m.Scenarios = append(m.Scenarios, ms)
			}
			ms.Passed = ms.Passed && s.Passed
			ms.Skipped, ms.NotApplicable, ms.NotRun = ms.Skipped && s.Skipped, ms.NotApplicable && s.NotApplicable, ms.NotRun && s.NotRun
			ms.InternalError = ms.InternalError || s.InternalError
			ms.DurationS = max(ms.DurationS, s.DurationS)
			if s.Error != "" {
				ms.Error = strings.TrimPrefix(ms.Error+"; ", "; ") + who + ": " + s.Error
			}
			for _, x := range s.Findings {
				ms.Findings = append(ms.Findings, who+": "+x)
			}
			for _, x := range s.Notes {
				ms.Notes = append(ms.Notes, who+": "+x)
			}
		}

		// The shard's verdict, and why it did not pass.
		ms := MergedShard{File: sr.File, Index: sh.Index, Verdict: r.Verdict}
		if ms.Verdict == "" {
			ms.Verdict = VerdictFailed
			if r.Passed {
				ms.Verdict = VerdictPassed
			}
		}
		if !r.Passed {
			ms.Why = whyFailed(r)
			if r.GateFailed() {
				gateOnly = true
			} else {
				checksFailed = true
			}
		}
		m.Merged = append(m.Merged, ms)
	}
	m.StartedAt, m.DurationS = start, end.Sub(start).Seconds()
	if len(lostByCause) > 0 {
		m.Delivery.LostByCause = lostByCause
	}
	if len(failedByError) > 0 {
		m.Delivery.FailedByError = failedByError
	}
	for u := range untested {
		m.Untested = append(m.Untested, u)
	}
	slices.Sort(m.Untested)
	if w := produceWin.seconds(); w > 0 {
		m.Throughput.ProduceStartedAt = &produceWin.start
		m.Throughput.ProduceDurationS = w
		m.Throughput.ProduceMsgsPerS, m.Throughput.ProduceMBPerS = answered/w, produceMB/w
	}
	if w := consumeWin.seconds(); w > 0 {
		m.Throughput.ConsumeStartedAt = &consumeWin.start
		m.Throughput.ConsumeDurationS = w
		m.Throughput.ConsumeMsgsPerS, m.Throughput.ConsumeMBPerS = read/w, readMB/w
	}
	if produce.Count() > 0 {
		m.Latency = LatencyOf(produce)
	}
	if haveE2E && e2e.Count() > 0 {
		l := LatencyOf(e2e)
		m.EndToEnd = &l
	}
	counts := make([]int64, len(m.Partitions))
	for i, p := range m.Partitions {
		counts[i] = p.Messages
	}
	m.Distribution = DistributionOf(counts)

	m.Passed = !checksFailed && !gateOnly && !m.Interrupted && !m.Errored()
	m.UpdateVerdict()
	return m, nil
}

// sameGroup checks that the reports are every shard of one run group, once each.
func sameGroup(in []ShardReport) error {
	f := in[0]
	for _, sr := range in {
		if sr.Report.Shard == nil {
			return fmt.Errorf("%s is not a shard's report: its run had no --shard; report merge combines the reports of one run group's shards", sr.File)
		}
		if len(sr.Report.Merged) > 0 {
			return fmt.Errorf("%s is a merged report already: merge the shards' own reports", sr.File)
		}
	}
	fs := f.Report.Shard
	seen := map[int]string{}
	for _, sr := range in {
		r, s := sr.Report, sr.Report.Shard
		switch {
		case s.Index < 0 || s.Index >= s.Count:
			return fmt.Errorf("%s is shard %d of %d: a shard's index is 0 to %d; the report was edited or is corrupt", sr.File, s.Index, s.Count, s.Count-1)
		case s.Group != fs.Group:
			return fmt.Errorf("%s is of run group %s, %s of run group %s: merge the reports of one run group", sr.File, s.Group, f.File, fs.Group)
		case r.Config.Topic != f.Report.Config.Topic:
			return fmt.Errorf("%s wrote to topic %s, %s to topic %s: the shards of one run share one topic", sr.File, r.Config.Topic, f.File, f.Report.Config.Topic)
		case s.Count != fs.Count:
			return fmt.Errorf("%s is shard %d of %d, %s shard %d of %d: every shard must be given the same --shard N", sr.File, s.Index, s.Count, f.File, fs.Index, fs.Count)
		case r.Config.Messages != f.Report.Config.Messages || r.Config.Keys != f.Report.Config.Keys:
			return fmt.Errorf("%s split %d messages over %d keys, %s %d over %d: every shard must run the same workload", sr.File, r.Config.Messages, r.Config.Keys, f.File, f.Report.Config.Messages, f.Report.Config.Keys)
		case seen[s.Index] != "":
			return fmt.Errorf("%s and %s are both shard %d of run group %s", seen[s.Index], sr.File, s.Index, s.Group)
		}
		seen[s.Index] = sr.File
		if err := sameRun(sr, f); err != nil {
			return err
		}
	}
	// Every index given is below Count, so len(seen) < Count means some are
	// missing: name the first few (a count of a billion names no billion).
	if fs.Count == len(seen) {
		return nil
	}
	const named = 10
	var missing []string
	for i := 0; len(missing) < named && i < fs.Count; i++ {
		if seen[i] == "" {
			missing = append(missing, fmt.Sprint(i))
		}
	}
	list := strings.Join(missing, ", ")
	if n := fs.Count - len(seen); n > len(missing) {
		list += fmt.Sprintf(" and %d more", n-len(missing))
	}
	return fmt.Errorf("run group %s has %d shards, but no report of shard(s) %s was given: give every shard's report (a shard without one did not finish, and the group cannot pass)", fs.Group, fs.Count, list)
}

// sameRun checks that sr ran what first ran, with the same chronik-e2e (the
// split of the group's sequences, and what counts as a sibling, are the
// tool's), and that its verdict does not contradict its counts.
func sameRun(sr, first ShardReport) error {
	r, f := sr.Report, first.Report
	if r.ToolVersion != f.ToolVersion {
		return fmt.Errorf("%s was written by chronik-e2e %s, %s by %s: run every shard of a group with one chronik-e2e", sr.File, r.ToolVersion, first.File, f.ToolVersion)
	}
	a, b := r.Config, f.Config
	for _, d := range []struct {
		name string
		x, y any
	}{
		{"nodes", a.Nodes, b.Nodes}, {"topic_existing", a.TopicExisting, b.TopicExisting}, {"partitions", a.Partitions, b.Partitions},
		{"replication_factor", a.ReplicationFactor, b.ReplicationFactor}, {"value_bytes", a.ValueBytes, b.ValueBytes},
		{"acks", a.Acks, b.Acks}, {"producers", a.Producers, b.Producers}, {"rate", a.Rate, b.Rate},
		{"concurrent_consume", a.ConcurrentConsume, b.ConcurrentConsume},
	} {
		if d.x != d.y {
			return fmt.Errorf("%s ran with %s %#v, %s with %s %#v: every shard must run the same profile and flags", sr.File, d.name, d.x, first.File, d.name, d.y)
		}
	}
	names := func(r *Report) string {
		var n []string
		for _, s := range r.Scenarios {
			n = append(n, s.Name)
		}
		return strings.Join(n, ", ")
	}
	if x, y := names(r), names(f); x != y {
		return fmt.Errorf("%s ran scenarios %s, %s %s: every shard must run the same scenarios, or a shard's part goes unsent or unread", sr.File, x, first.File, y)
	}
	for _, p := range r.Partitions {
		if !slices.ContainsFunc(f.Partitions, func(q Partition) bool { return q.ID == p.ID }) {
			return fmt.Errorf("%s lists partition %d, which topic %s of %s does not have: the report was edited or is corrupt", sr.File, p.ID, f.Config.Topic, first.File)
		}
	}
	s := r.Shard
	if s.Index >= 0 && s.Index < s.Count && a.Messages >= s.Count && a.Keys >= s.Count {
		lo, hi := a.Messages*s.Index/s.Count, a.Messages*(s.Index+1)/s.Count
		klo, khi := a.Keys*s.Index/s.Count, a.Keys*(s.Index+1)/s.Count
		if s.FirstSeq != lo || s.LastSeq != hi-1 || s.FirstKey != klo || s.LastKey != khi-1 {
			return fmt.Errorf("%s: shard %d of %d owns sequences %d-%d and keys %d-%d; this chronik-e2e splits %d messages over %d keys as %d-%d and %d-%d: the report was edited, or written by another version",
				sr.File, s.Index, s.Count, s.FirstSeq, s.LastSeq, s.FirstKey, s.LastKey, a.Messages, a.Keys, lo, hi-1, klo, khi-1)
		}
	}
	if !r.Passed {
		return nil
	}
	if d := r.Delivery; d.Unexpected > 0 || d.Misplaced > 0 {
		return fmt.Errorf("%s says PASSED with %d unexpected and %d misplaced record(s), which always fail a run: the report was edited or is corrupt", sr.File, d.Unexpected, d.Misplaced)
	}
	for _, sc := range r.Scenarios {
		if !sc.Passed && (!sc.NotApplicable || !r.AllowNotApplicable) {
			return fmt.Errorf("%s says PASSED, but its scenario %s did not pass: the report was edited or is corrupt", sr.File, sc.Name)
		}
	}
	return nil
}

// decodeHDR decodes a report's histogram; what names it.
func decodeHDR(file, what, hdr string) (*workload.Latency, error) {
	if hdr == "" {
		return nil, fmt.Errorf("%s has no %s.hdr, the latency histogram report merge merges: a chronik-e2e older than report merge wrote it; run the shard again with this one", file, what)
	}
	h, err := workload.DecodeLatency(hdr)
	if err != nil {
		return nil, fmt.Errorf("%s: %s.hdr: %w", file, what, err)
	}
	return h, nil
}

// whyFailed says in a line why a report did not pass: its failed scenarios
// with their first finding or error, a failed gate, an interruption.
func whyFailed(r *Report) string {
	var why []string
	if r.Error != "" {
		why = append(why, r.Error)
	}
	for _, s := range r.Scenarios {
		if s.Passed || s.NotApplicable && r.AllowNotApplicable {
			continue
		}
		first := s.Error
		if len(s.Findings) > 0 {
			first = s.Findings[0]
		}
		why = append(why, fmt.Sprintf("%s failed: %s", s.Name, first))
	}
	if r.Gate != nil && !r.Gate.Passed {
		why = append(why, "the gate failed (thresholds or baseline)")
	}
	if r.Interrupted {
		why = append(why, "interrupted")
	}
	if len(r.InternalErrors) > 0 {
		why = append(why, "internal error")
	}
	if len(why) == 0 {
		why = append(why, "verdict "+r.Verdict)
	}
	return strings.Join(why, "; ")
}

// window is the span from the earliest start to the latest end of the
// shards' phases: the window their throughputs are summed over.
type window struct{ start, end time.Time }

// add widens w to cover a phase that began at start and took durS seconds.
func (w *window) add(start time.Time, durS float64) {
	end := start.Add(time.Duration(durS * float64(time.Second)))
	if w.start.IsZero() || start.Before(w.start) {
		w.start = start
	}
	if end.After(w.end) {
		w.end = end
	}
}

// seconds is the window's length.
func (w *window) seconds() float64 { return w.end.Sub(w.start).Seconds() }

// mergeResources combines what the shards sampled of the same nodes
// (faults.hooks.stats run by each): per node the highest peaks, the means
// over every sample, and the series of the shard that sampled it most. A
// figure one shard's source did not give is not measured. Nil when no
// shard sampled anything.
func mergeResources(in []ShardReport) *Resources {
	var m *Resources
	byNode := map[int]int{} // node id -> index in m.Nodes
	for _, sr := range in {
		r := sr.Report.Cluster.Resources
		if r == nil {
			continue
		}
		if m == nil {
			m = &Resources{IntervalS: r.IntervalS, Source: r.Source, Unavailable: r.Unavailable, Nodes: []NodeUsage{}}
		}
		if r.Unavailable == "" {
			m.Unavailable = ""
		}
		for _, f := range r.Missing {
			if !slices.Contains(m.Missing, f) {
				m.Missing = append(m.Missing, f)
			}
		}
		m.FailedSamples += r.FailedSamples
		if m.FirstFailure == "" && r.FirstFailure != "" {
			m.FirstFailure = fmt.Sprintf("shard %d: %s", sr.Report.Shard.Index, r.FirstFailure)
		}
		for _, n := range r.Nodes {
			i, ok := byNode[n.Node]
			if !ok {
				byNode[n.Node] = len(m.Nodes)
				m.Nodes = append(m.Nodes, n)
				continue
			}
			a := &m.Nodes[i]
			total := a.Samples + n.Samples
			if total > 0 {
				w := func(x, y float64) float64 { return (x*float64(a.Samples) + y*float64(n.Samples)) / float64(total) }
				a.MeanRSSMB, a.MeanCPUPct, a.MeanFDs = w(a.MeanRSSMB, n.MeanRSSMB), w(a.MeanCPUPct, n.MeanCPUPct), w(a.MeanFDs, n.MeanFDs)
			}
			a.PeakRSSMB, a.PeakCPUPct, a.PeakFDs = max(a.PeakRSSMB, n.PeakRSSMB), max(a.PeakCPUPct, n.PeakCPUPct), max(a.PeakFDs, n.PeakFDs)
			if n.Samples > a.Samples {
				a.Series = n.Series
			}
			a.Samples = total
		}
	}
	if m != nil {
		slices.SortFunc(m.Nodes, func(a, b NodeUsage) int { return a.Node - b.Node })
	}
	return m
}
