package runner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// TestShardLossFailsMerge: three shards of one run group, one after another
// on one cluster; between shard 1's produce and its consume the shared
// topic's records are deleted (DeleteRecords to the end of every
// partition). Shard 1 loses its own records, below the log start; shards
// 0 (verified before) and 2 (writing after) pass; the merge fails naming
// shard 1 and its loss.
func TestShardLossFailsMerge(t *testing.T) {
	c := startEmbedded(t, 3)
	p := smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
		p.Scenarios = []string{"topic-create", "produce", hookName, "consume"}
	})
	var in []report.ShardReport
	for i := range 3 {
		onHook(t, c, func(_ context.Context, env *scenarios.Env) error {
			if i != 1 {
				return nil
			}
			for part := range int32(p.Topic.Partitions) {
				if err := c.Kfake().DeleteRecords(env.Topic, part, -1); err != nil {
					return err
				}
			}
			return nil
		})
		rep, err := runOpts(t, runner.Options{Profile: p, Cluster: c, Shard: &runner.Shard{Group: "loss-1", Index: i, Count: 3}})
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		in = append(in, report.ShardReport{File: fmt.Sprintf("shard-%d.json", i), Report: rep})
	}
	for i, sr := range in {
		r := sr.Report
		if want := i != 1; r.Passed != want {
			t.Errorf("shard %d passed=%v, want %v:\n%s", i, r.Passed, want, describe(r))
		}
		if r.Delivery.Unexpected != 0 {
			t.Errorf("shard %d: %d unexpected records, want none (its siblings' are expected)", i, r.Delivery.Unexpected)
		}
	}
	if l := in[1].Report.Delivery.Lost; l != 200 {
		t.Errorf("shard 1 lost %d, want its 200", l)
	}
	if s := in[1].Report.Delivery.SiblingsRead; s != 0 {
		t.Errorf("shard 1 read %d sibling records, want 0 (shard 0's were deleted too)", s)
	}
	m, err := report.Merge(in)
	if err != nil {
		t.Fatal(err)
	}
	if m.Passed || m.Verdict != report.VerdictFailed {
		t.Fatalf("merged verdict %s, want FAILED", m.Verdict)
	}
	if m.Delivery.Sent != 600 || m.Delivery.Lost != 200 {
		t.Errorf("merged delivery %+v, want 600 sent, 200 lost", m.Delivery.Counts)
	}
	why := m.Merged[1].Why
	if m.Merged[1].Index != 1 || m.Merged[1].Verdict != report.VerdictFailed || !strings.HasPrefix(why, "consume failed: 200 lost record(s)") {
		t.Errorf("shard 1 merged as %+v, want FAILED because consume lost 200", m.Merged[1])
	}
	for _, i := range []int{0, 2} {
		if m.Merged[i].Verdict != report.VerdictPassed {
			t.Errorf("shard %d merged as %+v", i, m.Merged[i])
		}
	}
}

// TestShardSiblingsExpected: shards run one after another read their
// predecessors' records as siblings, never unexpected, and each accounts
// for its own part only: the counts add up to the workload, and each sends
// at its share of the group's rate.
func TestShardSiblingsExpected(t *testing.T) {
	c := startEmbedded(t, 3)
	p := smallProfile(t, 3, 3, 3, func(p *profile.Profile) { p.Workload.Rate = 6000 })
	var sent, consumed int64
	for i := range 3 {
		rep, err := runOpts(t, runner.Options{Profile: p, Cluster: c, Shard: &runner.Shard{Group: "sib-1", Index: i, Count: 3}})
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		d := rep.Delivery
		if !rep.Passed || d.Unexpected != 0 || d.SiblingsRead != int64(200*i) {
			t.Errorf("shard %d: passed=%v, %d unexpected, %d sibling records; want passed, 0, %d:\n%s", i, rep.Passed, d.Unexpected, d.SiblingsRead, 200*i, describe(rep))
		}
		if got := rep.Scenario("produce").Metrics["target_msgs_per_sec"]; got != 2000 {
			t.Errorf("shard %d: target rate %v msg/s, want 2000 (a third of 6000)", i, got)
		}
		sent, consumed = sent+d.Sent, consumed+d.Consumed
	}
	if sent != 600 || consumed != 600 {
		t.Errorf("the shards sent %d and consumed %d, want 600 each", sent, consumed)
	}
}

// TestShardSiblingDuplicateFails: shard 0 runs and passes; while shard 1
// runs, the broker writes one of shard 0's records a second time (a copy,
// byte for byte, in its partition). Shard 0 finished reading before the copy
// existed; shard 1 reads it twice, and must name it a duplicate, not count
// it as one more sibling record: else every shard passes and so does the merge.
func TestShardSiblingDuplicateFails(t *testing.T) {
	c := startEmbedded(t, 3)
	p := smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
		p.Scenarios = []string{"topic-create", "produce", hookName, "consume"}
	})
	var in []report.ShardReport
	for i := range 2 {
		onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
			if i != 1 {
				return nil
			}
			recs, err := readCopies(ctx, env, 0, 1)
			if err != nil {
				return err
			}
			return writeBehind(ctx, env, recs...)
		})
		rep, err := runOpts(t, runner.Options{Profile: p, Cluster: c, Shard: &runner.Shard{Group: "sibdup-1", Index: i, Count: 2}})
		if err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		in = append(in, report.ShardReport{File: fmt.Sprintf("shard-%d.json", i), Report: rep})
	}
	if !in[0].Report.Passed {
		t.Fatalf("shard 0 failed before the copy was written:\n%s", describe(in[0].Report))
	}
	r := in[1].Report
	if r.Passed {
		t.Fatalf("shard 1 passed though it read a sibling's record twice:\n%s", describe(r))
	}
	wantFinding(t, section(t, r, "consume"), "1 duplicated sibling record(s)")
	m, err := report.Merge(in)
	if err != nil {
		t.Fatal(err)
	}
	if m.Passed {
		t.Errorf("the merge passed with a duplicate of shard 0's record in the topic")
	}
}
