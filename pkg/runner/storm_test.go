package runner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// stormSize is the storm of the tests: small, so that they stay fast.
const stormSize = 30

// stormProfile returns a profile whose storm creates stormSize topics of
// three partitions, writes four messages to each and restarts the cluster;
// converge bounds the wait for every broker to list them. With hook, the
// test-hook scenario runs before the storm (after topic-create).
func stormProfile(t *testing.T, converge time.Duration, hook bool, edit func(*profile.Profile)) *profile.Profile {
	t.Helper()
	return smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
		p.Scenarios = []string{"topic-storm"}
		if hook {
			p.Scenarios = []string{hookName, "topic-storm"}
		}
		p.Storm = profile.Storm{Topics: stormSize, Parallelism: 8, MessagesPerTopic: 4, Restart: true,
			ConvergeTimeout: profile.Duration{Duration: converge}}
		p.Faults.RecoveryTimeout.Duration = 10 * time.Second
		p.Timeouts.Scenario.Duration = max(p.Timeouts.Scenario.Duration, 3*converge)
		if edit != nil {
			edit(p)
		}
	})
}

// stormName is the storm's i-th topic (1-based) in the run of env.
func stormName(env *scenarios.Env, i int) string {
	return fmt.Sprintf("%s-storm-%0*d", env.Topic, len(fmt.Sprint(stormSize)), i)
}

// stormNames are the storm topics of a run whose topic is runTopic.
func stormNames(runTopic string, is ...int) []string {
	var out []string
	for _, i := range is {
		out = append(out, fmt.Sprintf("%s-storm-%0*d", runTopic, len(fmt.Sprint(stormSize)), i))
	}
	return out
}

// TestTopicStormPasses: on a healthy cluster the storm creates every topic,
// every broker lists them before and after the restart, every record is
// counted, and topic.delete always deletes all of them.
func TestTopicStormPasses(t *testing.T) {
	t.Parallel()
	c := startDurable(t)
	p := stormProfile(t, 30*time.Second, false, func(p *profile.Profile) { p.Topic.Delete = profile.DeleteAlways })
	rep := run(t, p, c)
	verdicts(t, rep, map[string]bool{"topic-storm": true})
	s := section(t, rep, "topic-storm")
	for _, m := range []string{"created", "converge_s", "restart_converge_s", "messages_acked"} {
		if _, ok := s.Metrics[m]; !ok {
			t.Errorf("metric %s missing; metrics %v", m, s.Metrics)
		}
	}
	if got := s.Metrics["created"]; got != stormSize {
		t.Errorf("created = %v, want %d", got, stormSize)
	}
	if got := s.Metrics["messages_acked"]; got != 4*stormSize {
		t.Errorf("messages_acked = %v, want %d", got, 4*stormSize)
	}
	if len(notesWith(s, "after the restart: every partition of the 30 topic(s) holds the records acknowledged to it")) == 0 {
		t.Errorf("no note that the records were counted after the restart; notes %q", s.Notes)
	}
	if !strings.Contains(rep.TopicCleanup, "30 topics (") || !strings.Contains(rep.TopicCleanup, "deleted (topic.delete: always)") {
		t.Errorf("topic cleanup %q, want the 30 storm topics deleted", rep.TopicCleanup)
	}
	left := listTopics(t, c)
	for _, name := range left {
		if strings.Contains(name, "-storm-") {
			t.Errorf("storm topic %s left after the run (topic.delete: always)", name)
		}
	}
	for _, name := range stormNames(rep.Config.Topic, 1, stormSize) {
		if !profile.GeneratedTopic.MatchString(name) {
			t.Errorf("storm topic %s is not a name `topics clean` recognises", name)
		}
	}
}

// TestTopicStormCreationLoss: CreateTopics answers success for one topic
// without creating it; the storm fails naming it.
func TestTopicStormCreationLoss(t *testing.T) {
	t.Parallel()
	c := startDurable(t)
	var victim string
	onHook(t, c, func(_ context.Context, env *scenarios.Env) error {
		victim = stormName(env, 7)
		kc := c.Kfake()
		kc.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
			r := req.(*kmsg.CreateTopicsRequest)
			if len(r.Topics) != 1 || r.Topics[0].Topic != victim {
				kc.KeepControl()
				return nil, nil, false
			}
			resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic, rt.NumPartitions, rt.ReplicationFactor = victim, r.Topics[0].NumPartitions, r.Topics[0].ReplicationFactor
			resp.Topics = append(resp.Topics, rt)
			return resp, nil, true // acknowledged, never created
		})
		return nil
	})
	rep := run(t, stormProfile(t, 2*time.Second, true, nil), c)
	verdicts(t, rep, map[string]bool{"topic-create": true, hookName: true, "topic-storm": false})
	s := section(t, rep, "topic-storm")
	wantFinding(t, s, "creation loss: 1 of 30 topic(s)", "listed by no broker", victim)
	if got := findingsWith(s, "catalog divergence"); len(got) > 0 {
		t.Errorf("a topic no broker lists is not a divergence: %q", got)
	}
	if len(notesWith(s, "not restarted")) == 0 {
		t.Errorf("no note that the restart was left out; notes %q", s.Notes)
	}
}

// TestTopicStormDivergence: one broker's metadata omits three topics the
// others list; the storm fails naming the broker and the topics.
func TestTopicStormDivergence(t *testing.T) {
	t.Parallel()
	c := startDurable(t)
	var hidden []string
	onHook(t, c, func(_ context.Context, env *scenarios.Env) error {
		for _, i := range []int{3, 11, 29} {
			hidden = append(hidden, stormName(env, i))
			c.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Nodes: []int32{2}, Topic: stormName(env, i), Err: kerr.UnknownTopicOrPartition, Count: -1})
		}
		return nil
	})
	rep := run(t, stormProfile(t, 2*time.Second, true, nil), c)
	verdicts(t, rep, map[string]bool{"topic-create": true, hookName: true, "topic-storm": false})
	s := section(t, rep, "topic-storm")
	wantFinding(t, s, append([]string{"catalog divergence: broker 2 lists 27 of 30 topic(s); it is missing 3 that brokers 0, 1 list"}, hidden...)...)
	if got := findingsWith(s, "broker 0"); len(got) > 0 {
		t.Errorf("broker 0 is named though its catalog is whole: %q", got)
	}
	if got := findingsWith(s, "creation loss"); len(got) > 0 {
		t.Errorf("topics two brokers list are not lost: %q", got)
	}
}

// TestTopicStormBrokerFaults: what else a broker may do to a storm, each
// failing by name or, where the storm must carry on, passing with a note.
func TestTopicStormBrokerFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stage  func(t *testing.T, c *cluster.Embedded, env *scenarios.Env) error
		passes bool
		want   func(env *scenarios.Env) []string // a finding, or with passes a note
	}{
		{"a partition listed without a leader by one broker", func(_ *testing.T, c *cluster.Embedded, env *scenarios.Env) error {
			c.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Nodes: []int32{1}, Topic: stormName(env, 4), Partitions: []int32{2}, Err: kerr.LeaderNotAvailable, Count: -1})
			return nil
		}, false, func(env *scenarios.Env) []string {
			return []string{"broker 1 lists 1 topic(s) with partitions missing or without a leader: " + stormName(env, 4) + " (partitions [2])"}
		}},
		{"CreateTopics creates fewer partitions than asked", func(_ *testing.T, c *cluster.Embedded, env *scenarios.Env) error {
			short := stormName(env, 12)
			kc := c.Kfake()
			kc.ControlKey(int16(kmsg.CreateTopics), func(req kmsg.Request) (kmsg.Response, error, bool) {
				kc.KeepControl()
				for i, rt := range req.(*kmsg.CreateTopicsRequest).Topics {
					if rt.Topic == short {
						req.(*kmsg.CreateTopicsRequest).Topics[i].NumPartitions = 1 // created, answered as asked
					}
				}
				return nil, nil, false
			})
			return nil
		}, false, func(env *scenarios.Env) []string {
			return []string{"broker 0 lists 1 topic(s) with partitions missing or without a leader: " + stormName(env, 12) + " (partitions [1 2])"}
		}},
		{"CreateTopics times out after creating", func(_ *testing.T, c *cluster.Embedded, env *scenarios.Env) error {
			c.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.CreateTopics}, Err: kerr.RequestTimedOut, Count: 3})
			return nil
		}, true, func(env *scenarios.Env) []string {
			return []string{"answered REQUEST_TIMED_OUT, but the topic exists with the right shape; carrying on"}
		}},
		{"a topic of the storm nobody asked for", func(t *testing.T, c *cluster.Embedded, env *scenarios.Env) error {
			adm, ctx, err := adminOf(t, c)
			if err == nil {
				_, err = adm.CreateTopic(ctx, 1, 3, nil, stormName(env, 0))
			}
			return err
		}, false, func(env *scenarios.Env) []string {
			return []string{"broker 0 lists 1 topic(s) of this storm that were not created", stormName(env, 0)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startDurable(t)
			var env *scenarios.Env
			onHook(t, c, func(_ context.Context, e *scenarios.Env) error {
				env = e
				return tc.stage(t, c, e)
			})
			rep := run(t, stormProfile(t, 2*time.Second, true, func(p *profile.Profile) { p.Storm.Restart = false }), c)
			verdicts(t, rep, map[string]bool{"topic-create": true, hookName: true, "topic-storm": tc.passes})
			s := section(t, rep, "topic-storm")
			if tc.passes {
				if len(notesWith(s, tc.want(env)...)) == 0 {
					t.Errorf("no note contains %q; notes %q", tc.want(env), s.Notes)
				}
				return
			}
			wantFinding(t, s, tc.want(env)...)
		})
	}
}

// TestTopicStormRestart: what a restart does to the catalog and the
// records is found and named: topics gone from every broker, one broker
// recovering a smaller catalog (Chronik's 15 / 4,695 / 882), records gone.
func TestTopicStormRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		harm func(t *testing.T, h *harmful, runTopic string)
		want func(runTopic string) []string
	}{
		{"topics lost", func(t *testing.T, h *harmful, runTopic string) {
			deleteBehind(t, h.Embedded, stormNames(runTopic, 5, 6)...)
		}, func(runTopic string) []string {
			return append([]string{"after the restart: topic loss: 2 of 30 topic(s)", "listed by no broker"}, stormNames(runTopic, 5, 6)...)
		}},
		{"one broker's catalog shrinks", func(t *testing.T, h *harmful, runTopic string) {
			for _, name := range stormNames(runTopic, 1, 2, 30) {
				h.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Nodes: []int32{1}, Topic: name, Err: kerr.UnknownTopicOrPartition, Count: -1})
			}
		}, func(runTopic string) []string {
			return append([]string{"after the restart: catalog divergence: broker 1 lists 27 of 30 topic(s); it is missing 3 that brokers 0, 2 list"}, stormNames(runTopic, 1, 2, 30)...)
		}},
		{"records lost", func(t *testing.T, h *harmful, runTopic string) {
			if err := h.Kfake().DeleteRecords(stormNames(runTopic, 9)[0], 1, -1); err != nil {
				t.Errorf("delete records: %v", err)
			}
		}, func(runTopic string) []string {
			return []string{"after the restart: acknowledged records missing: " + stormNames(runTopic, 9)[0] + " partition 1 holds 0 record(s)", "1 acknowledged"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := &harmful{Embedded: startDurable(t)}
			var runTopic string
			onHook(t, h, func(_ context.Context, env *scenarios.Env) error {
				runTopic = env.Topic
				return nil
			})
			h.after = func(op cluster.Op, n cluster.Node) {
				if op == cluster.OpStart && n.ID == 2 { // the last node up again
					tc.harm(t, h, runTopic)
				}
			}
			rep := run(t, stormProfile(t, 2*time.Second, true, nil), h)
			verdicts(t, rep, map[string]bool{"topic-create": true, hookName: true, "topic-storm": false})
			s := section(t, rep, "topic-storm")
			if _, ok := s.Metrics["converge_s"]; !ok {
				t.Errorf("the catalog did not converge before the restart; findings %q", s.Findings)
			}
			wantFinding(t, s, tc.want(runTopic)...)
		})
	}
}

// adminOf returns an admin client of c's, behind the runner's back, and a
// context for its requests; both end with the test. It may be called from
// any goroutine (a hook), so it returns its error.
func adminOf(t *testing.T, c cluster.Cluster) (*kadm.Client, context.Context, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...))
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return kadm.NewClient(cl), ctx, nil
}

// deleteBehind deletes topics behind the runner's back.
func deleteBehind(t *testing.T, c cluster.Cluster, topics ...string) {
	t.Helper()
	adm, ctx, err := adminOf(t, c)
	if err == nil {
		var resps kadm.DeleteTopicResponses
		if resps, err = adm.DeleteTopics(ctx, topics...); err == nil {
			err = resps.Error()
		}
	}
	if err != nil {
		t.Errorf("delete topics %v: %v", topics, err)
	}
}

// listTopics lists the cluster's topics.
func listTopics(t *testing.T, c cluster.Cluster) []string {
	t.Helper()
	adm, ctx, err := adminOf(t, c)
	if err != nil {
		t.Fatal(err)
	}
	td, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	return td.Names()
}

// TestTopicStormRestartNeedsNodeControl: on an attached cluster without node
// hooks a storm with a restart is not applicable, saying how to run it.
func TestTopicStormRestartNeedsNodeControl(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	rep := run(t, stormProfile(t, 10*time.Second, false, nil), cluster.Attach(c.Bootstrap()))
	s := section(t, rep, "topic-storm")
	if !s.NotApplicable || !strings.Contains(s.Error, "storm.restart: the attached cluster has no node hooks") || !strings.Contains(s.Error, "storm.restart: false storms without the restart") {
		t.Errorf("topic-storm: not applicable %v, error %q", s.NotApplicable, s.Error)
	}
}
