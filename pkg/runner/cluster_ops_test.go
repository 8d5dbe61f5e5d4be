package runner_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// answerCreateTopics makes the cluster answer the first n CreateTopics
// requests (n < 0: every one) with code for each topic; it returns how many
// it answered so.
func answerCreateTopics(kc *kfake.Cluster, n int64, code int16) *atomic.Int64 {
	var answered atomic.Int64
	kc.ControlKey(int16(kmsg.CreateTopics), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		if n >= 0 && answered.Load() >= n {
			return nil, nil, false
		}
		answered.Add(1)
		req := kreq.(*kmsg.CreateTopicsRequest)
		resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic = t.Topic
			rt.ErrorCode = code
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	return &answered
}

// TestCreateTopicsNotController: a cluster that answers NOT_CONTROLLER to
// the first CreateTopics requests (a Raft cluster right after its election)
// is retried with a note per retry and passes; one that answers it to every
// request fails topic-create at the deadline, naming the error and the
// number of attempts, and the scenarios that need the topic are skipped.
func TestCreateTopicsNotController(t *testing.T) {
	t.Parallel()
	t.Run("first 7", func(t *testing.T) {
		t.Parallel()
		c := startEmbedded(t, 3)
		answered := answerCreateTopics(c.Kfake(), 7, kerr.NotController.Code)
		rep := run(t, smallProfile(t, 3, 3, 3, nil), c)

		verdicts(t, rep, defaultScenarios)
		checkHealthy(t, rep, 3, 3, 3)
		if got := answered.Load(); got != 7 {
			t.Errorf("NOT_CONTROLLER answered %d times, want 7", got)
		}
		tc := section(t, rep, "topic-create")
		if n := len(notesWith(tc, "create topic ", "NOT_CONTROLLER", "retrying in")); n == 0 {
			t.Errorf("topic-create notes no retry after NOT_CONTROLLER: %q", tc.Notes)
		}
		if len(notesWith(tc, "succeeded at attempt")) != 1 {
			t.Errorf("topic-create does not note the attempt that succeeded: %q", tc.Notes)
		}
	})
	t.Run("always", func(t *testing.T) {
		t.Parallel()
		const deadline = 3 * time.Second
		c := startEmbedded(t, 3)
		answerCreateTopics(c.Kfake(), -1, kerr.NotController.Code)
		rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) { p.Timeouts.Scenario.Duration = deadline }), c)

		verdicts(t, rep, map[string]bool{"topic-create": false, "produce": false, "consume": false, "metadata": false})
		tc := section(t, rep, "topic-create")
		wantError(t, tc, "create topic ", "attempt(s) in ", "the last answered NOT_CONTROLLER")
		if tc.DurationS < deadline.Seconds()/2 || tc.DurationS > 2*deadline.Seconds() {
			t.Errorf("topic-create took %.2fs, want about its deadline %s", tc.DurationS, deadline)
		}
		for _, name := range []string{"produce", "consume", "metadata"} {
			if s := section(t, rep, name); !s.Skipped {
				t.Errorf("scenario %s: skipped = false, want skipped for its prerequisite (error %q, findings %q)", name, s.Error, s.Findings)
			}
		}
		if md := section(t, rep, "metadata"); len(md.Findings) != 0 {
			t.Errorf("metadata: findings %q, want none: the brokers are right", md.Findings)
		}
	})
}

// TestCreateTopicsExistingAfterNotController: the profile names a topic that
// exists already, and the first CreateTopics are answered NOT_CONTROLLER.
// NOT_CONTROLLER says the request was not carried out, so the
// TOPIC_ALREADY_EXISTS that follows is the old topic's, not one an earlier
// attempt created: topic-create fails as for any existing topic.
func TestCreateTopicsExistingAfterNotController(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	const topic = "existing"
	if err := c.Kfake().CreateTopic(topic, 3, nil); err != nil {
		t.Fatal(err)
	}
	answerCreateTopics(c.Kfake(), 3, kerr.NotController.Code)
	rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) { p.Topic.Name = topic }), c)

	verdicts(t, rep, map[string]bool{"topic-create": false, "produce": false, "consume": false, "metadata": false})
	wantError(t, section(t, rep, "topic-create"), "topic existing already exists: name a new topic")
}

// TestCreateTopicsRequestTimedOut: CreateTopics answers REQUEST_TIMED_OUT
// but creates the topic (the request is passed on to the cluster after the
// answer is decided): topic-create finds the topic with the right shape and
// carries on, and the run passes.
func TestCreateTopicsRequestTimedOut(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	var answered atomic.Int64
	kc.ControlKey(int16(kmsg.CreateTopics), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		if answered.Load() > 0 {
			return nil, nil, false
		}
		answered.Add(1)
		// Create the topic as asked, then answer as if the request had timed out.
		req := kreq.(*kmsg.CreateTopicsRequest)
		kc.SleepControl(func() {
			for _, t := range req.Topics {
				_ = kc.CreateTopic(t.Topic, t.NumPartitions, nil)
			}
		})
		resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, t := range req.Topics {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic = t.Topic
			rt.ErrorCode = kerr.RequestTimedOut.Code
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	rep := run(t, smallProfile(t, 3, 3, 3, nil), c)

	verdicts(t, rep, defaultScenarios)
	tc := section(t, rep, "topic-create")
	if len(notesWith(tc, "REQUEST_TIMED_OUT", "the topic exists with the right shape")) != 1 {
		t.Errorf("topic-create notes: %q, want one saying the topic exists after REQUEST_TIMED_OUT", tc.Notes)
	}
}

// metadataSnapshot returns the cluster's own metadata answer for the run's
// topic, taken with a second client, to be edited and served by a control.
func metadataSnapshot(ctx context.Context, env *scenarios.Env) (*kmsg.MetadataResponse, error) {
	cl, err := secondClient(env)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(env.Topic)
	req.Topics = append(req.Topics, rt)
	snap, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if len(snap.Topics) != 1 || len(snap.Topics[0].Partitions) != env.Profile.Topic.Partitions {
		return nil, fmt.Errorf("metadata: want 1 topic of %d partitions, got %+v", env.Profile.Topic.Partitions, snap.Topics)
	}
	return snap, nil
}

// setLeader sets partition p's leader in snap.
func setLeader(snap *kmsg.MetadataResponse, p, leader int32) {
	for i := range snap.Topics[0].Partitions {
		if pt := &snap.Topics[0].Partitions[i]; pt.Partition == p {
			pt.Leader = leader
		}
	}
}

// TestMetadataBrokersDisagree: broker 2 answers metadata with another
// leader for partition 1 than brokers 0 and 1; persistently, or only for
// its first answers (a cluster still spreading a leader change). The
// metadata scenario must name broker 2, partition 1 and both leaders when
// the disagreement lasts, and pass with a note when it ends.
func TestMetadataBrokersDisagree(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		lies  int64 // how many answers broker 2 gets wrong; -1: all
		agree bool
	}{
		{"persistently", -1, false},
		{"while settling", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startEmbedded(t, 3)
			var lied atomic.Int64
			onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
				snap, err := metadataSnapshot(ctx, env)
				if err != nil {
					return err
				}
				setLeader(snap, 1, 0) // the cluster's leader of partition 1 is broker 1
				kc := c.Kfake()
				kc.ControlKey(int16(kmsg.Metadata), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
					kc.KeepControl()
					if kc.CurrentNode() != 2 || (tc.lies >= 0 && lied.Load() >= tc.lies) {
						return nil, nil, false
					}
					lied.Add(1)
					resp := kreq.(*kmsg.MetadataRequest).ResponseKind().(*kmsg.MetadataResponse)
					resp.Brokers, resp.ClusterID, resp.ControllerID, resp.Topics = snap.Brokers, snap.ClusterID, snap.ControllerID, snap.Topics
					return resp, nil, true
				})
				return nil
			})
			rep := run(t, smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", "consume", hookName, "metadata")), c)

			verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": true, hookName: true, "metadata": tc.agree})
			md := section(t, rep, "metadata")
			if tc.agree {
				if len(notesWith(md, "the brokers' metadata agreed after")) != 1 {
					t.Errorf("metadata notes %q, want one saying the brokers agreed after some polls", md.Notes)
				}
				return
			}
			wantFinding(t, md, "broker 2 says partition 1 is led by 0, brokers 0, 1 say 1")
			if len(md.Findings) != 1 {
				t.Errorf("metadata has %d findings, want only the disagreement: %q", len(md.Findings), md.Findings)
			}
			if rep.Partitions[1].Leader != 1 {
				t.Errorf("report: partition 1 leader %d, want 1, as most brokers say", rep.Partitions[1].Leader)
			}
		})
	}
}

// TestLeaderNotAdvertised: every broker says partition 1 is led by broker
// 7, which no broker advertises (Chronik before 2.10). The metadata
// scenario must name the partition and the id.
func TestLeaderNotAdvertised(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		snap, err := metadataSnapshot(ctx, env)
		if err != nil {
			return err
		}
		setLeader(snap, 1, 7)
		answerMetadata(c.Kfake(), snap)
		return nil
	})
	rep := run(t, smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", "consume", hookName, "metadata")), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": true, hookName: true, "metadata": false})
	md := section(t, rep, "metadata")
	wantFinding(t, md, "partition 1 is led by broker 7, which no broker advertises (brokers [0 1 2])")
	for _, f := range md.Findings {
		if !strings.Contains(f, "partition 1 is led by broker 7") && !strings.Contains(f, "leader skew: broker 1 leads 0 partitions") {
			t.Errorf("unexpected finding %q", f)
		}
	}
}

// TestKafkaVersionAuto: with cluster.kafka_version auto the run asks the
// brokers' ApiVersions. Against brokers that accept only Kafka 2.8's
// request versions it chooses 2.8.2 (3.0.0 would send OffsetFetch v8) and
// the run passes; against brokers that accept the newest versions it chooses
// a newer one. The report says which version and why.
func TestKafkaVersionAuto(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		opts     []kfake.Opt
		want     string
		whyParts []string
	}{
		{"brokers of 2.8", []kfake.Opt{kfake.MaxVersions(kversion.V2_8_0())}, "2.8.2",
			[]string{"auto: brokers 0, 1, 2 advertise Produce v", "OffsetFetch v0-7", "; chose 2.8.2 (3.0.0 would send OffsetFetch v8)"}},
		{"newest brokers", nil, sarama.MaxVersion.String(),
			[]string{"auto: brokers 0, 1, 2 advertise ", "; chose " + sarama.MaxVersion.String() + ", the newest version the client knows"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := cluster.StartEmbedded(3, tc.opts...)
			if err != nil {
				t.Fatalf("start embedded cluster: %v", err)
			}
			t.Cleanup(func() { _ = c.Close() })
			rep := run(t, smallProfile(t, 3, 3, 3, func(p *profile.Profile) { p.Cluster.KafkaVersion = "auto" }), c)

			verdicts(t, rep, defaultScenarios)
			checkHealthy(t, rep, 3, 3, 3)
			if rep.Cluster.KafkaVersion != tc.want {
				t.Errorf("kafka version %s, want %s (why: %s)", rep.Cluster.KafkaVersion, tc.want, rep.Cluster.KafkaVersionWhy)
			}
			if !containsAll(rep.Cluster.KafkaVersionWhy, tc.whyParts...) {
				t.Errorf("kafka version why %q, want it to contain %q", rep.Cluster.KafkaVersionWhy, tc.whyParts)
			}
		})
	}
}

// TestMetadataBrokerSilent: broker 2 never answers a metadata request. The
// metadata scenario waits out its agreement window, names broker 2, and
// checks the cluster as brokers 0 and 1 see it.
func TestMetadataBrokerSilent(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	onHook(t, c, func(ctx context.Context, env *scenarios.Env) error {
		kc := c.Kfake()
		kc.ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
			kc.KeepControl()
			return nil, nil, kc.CurrentNode() == 2 // handled without an answer: swallowed
		})
		return nil
	})
	rep := run(t, smallProfile(t, 3, 3, 3, withScenarios("topic-create", "produce", "consume", hookName, "metadata")), c)

	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": true, hookName: true, "metadata": false})
	md := section(t, rep, "metadata")
	wantFinding(t, md, "broker 2 at ", "did not answer metadata: metadata from broker 2 at ", "no answer: the 10s agreement window passed")
	if len(md.Findings) != 1 {
		t.Errorf("metadata has %d findings, want only the silent broker: %q", len(md.Findings), md.Findings)
	}
	if len(rep.Partitions) != 3 || rep.Partitions[2].Leader != 2 {
		t.Errorf("report partitions %+v, want 3 with partition 2 led by broker 2, as brokers 0 and 1 say", rep.Partitions)
	}
}
