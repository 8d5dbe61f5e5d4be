package runner

import (
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

// Shard makes a run one of Count runners that share one topic (--shard
// Index/Count --run-group Group): the group id gives them one run id, hence
// one topic name and one payload run id, and each produces and accounts for
// its own part of the workload (verify.Shard).
type Shard struct {
	Group        string
	Index, Count int
}

var runGroupChars = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

// ParseShard reads --shard I/N with --run-group ID; both empty: no shard.
func ParseShard(spec, group string) (*Shard, error) {
	switch {
	case spec == "" && group == "":
		return nil, nil
	case spec == "":
		return nil, exitcode.Usagef("--run-group %s needs --shard I/N: which of the group's shards this run is", group)
	case group == "":
		return nil, exitcode.Usagef("--shard %s needs --run-group ID, the same for every shard of the run (e.g. the CI job's id): the shards find their topic and each other's records by it", spec)
	case !runGroupChars.MatchString(group):
		return nil, exitcode.Usagef("--run-group %q: use 1 to 100 letters, digits, '.', '_' or '-'", group)
	}
	is, ns, ok := strings.Cut(spec, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return nil, exitcode.Usagef("--shard %q: want I/N with 0 <= I < N, e.g. --shard 0/3 for the first of three shards", spec)
	}
	return &Shard{Group: group, Index: i, Count: n}, nil
}

// RunID is the run id every shard of the group uses: a hash of its id.
func (s *Shard) RunID() uint64 {
	h := fnv.New64a()
	h.Write([]byte("chronik-e2e run group " + s.Group))
	return h.Sum64()
}

// check says why p cannot run as this shard, if it cannot: the cluster must
// be one the shards share and the scenarios ones a shard may run.
func (s *Shard) check(p *profile.Profile, plan []scenarios.Scenario, shared bool) (*verify.Shard, error) {
	if !shared && p.Cluster.Mode != profile.ModeAttach {
		return nil, exitcode.Usagef("--shard %d/%d: profile %s starts its own cluster (cluster.mode: %s), which the other shards cannot reach: attach every shard to one cluster (cluster.mode: attach, or --bootstrap)", s.Index, s.Count, p.Name, p.Cluster.Mode)
	}
	var bad, good []string
	for _, s := range plan {
		if _, ok := s.(scenarios.Sharded); ok {
			good = append(good, s.Name())
		} else {
			bad = append(bad, s.Name())
		}
	}
	if len(bad) > 0 {
		// The fault scenarios would stop nodes under the other shards; the
		// others make topics, groups or transactional ids of their own,
		// named after the run id the shards share.
		return nil, exitcode.Usagef("--shard: scenario(s) %s cannot run as a shard (a shard runs only %s, which share the topic and touch no node): run them unsharded", strings.Join(bad, ", "), strings.Join(shardedNames(), ", "))
	}
	if p.Topic.Existing {
		return nil, exitcode.Usagef("--shard with topic.existing: the shards read their shared topic from its start, an existing topic's earlier records would be unexpected; let the shards create it (leave topic.existing off)")
	}
	vs := &verify.Shard{Index: s.Index, Count: s.Count, Messages: p.Workload.Messages, Keys: p.Workload.Keys}
	if err := vs.Validate(); err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("--shard: %w", err))
	}
	return vs, nil
}

// shardReport describes the shard for the report.
func shardReport(s *Shard, vs *verify.Shard) *report.Shard {
	first, end := vs.Seqs(vs.Index)
	lo, hi := vs.KeyRange(vs.Index)
	return &report.Shard{Group: s.Group, Index: s.Index, Count: s.Count,
		FirstSeq: first, LastSeq: end - 1, FirstKey: lo, LastKey: hi - 1}
}

// shardedNames names the registered scenarios a shard may run.
func shardedNames() []string {
	var out []string
	for _, s := range scenarios.All() {
		if _, ok := s.(scenarios.Sharded); ok {
			out = append(out, s.Name())
		}
	}
	return out
}
