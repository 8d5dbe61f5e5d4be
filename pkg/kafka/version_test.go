package kafka

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want sarama.KafkaVersion
		auto bool
		err  string
	}{
		{in: "auto", want: ProbeVersion, auto: true},
		{in: " auto ", want: ProbeVersion, auto: true},
		{in: "3.6.0", want: sarama.V3_6_0_0},
		{in: "3.6", want: sarama.V3_6_0_0},
		{in: "2.8", want: sarama.V2_8_0_0},
		{in: "0.11.0", want: sarama.V0_11_0_0},
		{in: "0.11.0.0", want: sarama.V0_11_0_0},
		{in: "0.10.2.1", want: sarama.V0_10_2_1},
		{in: "0.11", want: sarama.V0_11_0_0},
		{in: "3", err: `"3" is not a version: use auto, or a Kafka release such as 3.6.0, 3.6, 2.8, 0.11.0 or 0.11.0.0`},
		{in: "3.6.0.0", err: `"3.6.0.0" is not a version`},
		{in: "0.11.0.0.0", err: `is not a version`},
		{in: "v3.6.0", err: `"v3.6.0" is not a version`},
		{in: "3.6.x", err: `is not a version`},
		{in: "", err: `"" is not a version`},
		{in: "Auto", err: `"Auto" is not a version`},
		{in: "3.6.9", err: `"3.6.9" is not a Kafka release the client knows (0.8.2.0 to ` + sarama.MaxVersion.String() + `): use auto`},
	} {
		v, auto, err := ParseVersion(tc.in)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseVersion(%q) error %v, want one containing %q", tc.in, err, tc.err)
			}
		case err != nil:
			t.Errorf("ParseVersion(%q): %v", tc.in, err)
		case v != tc.want || auto != tc.auto:
			t.Errorf("ParseVersion(%q) = %s, %v; want %s, %v", tc.in, v, auto, tc.want, tc.auto)
		}
	}
}

// rangesOf returns, for every request of apis, the versions from 0 to
// what sarama sends at v, with edit applied.
func rangesOf(v sarama.KafkaVersion, edit func(map[int16]versionRange)) map[int16]versionRange {
	out := map[int16]versionRange{}
	for _, a := range apis {
		out[a.key] = versionRange{0, a.version(v)}
	}
	if edit != nil {
		edit(out)
	}
	return out
}

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ranges map[int16]versionRange
		want   string
		why    []string
		err    string
	}{
		{
			name:   "brokers of 3.6",
			ranges: rangesOf(sarama.V3_6_0_0, nil),
			want:   "3.6.2",
			why:    []string{"auto: brokers 0, 1 advertise Produce v0-9, Fetch v0-12,", "; chose 3.6.2 (3.7.0 would send Produce v10)"},
		},
		{
			name:   "newest brokers",
			ranges: rangesOf(sarama.MaxVersion, nil),
			want:   sarama.MaxVersion.String(),
			why:    []string{"; chose " + sarama.MaxVersion.String() + ", the newest version the client knows"},
		},
		{
			name:   "without consumer groups",
			ranges: rangesOf(sarama.V2_0_0_0, func(m map[int16]versionRange) { delete(m, 11); delete(m, 14) }),
			want:   "2.0.1",
			why:    []string{"(and not JoinGroup, SyncGroup)", "; chose 2.0.1 (2.1.0 would send"},
		},
		{
			name:   "one request held back",
			ranges: rangesOf(sarama.MaxVersion, func(m map[int16]versionRange) { m[1] = versionRange{0, 11} }),
			want:   "2.6.3",
			why:    []string{"Fetch v0-11", "; chose 2.6.3 (2.7.0 would send Fetch v12)"},
		},
		{
			name:   "nothing fits",
			ranges: rangesOf(sarama.MaxVersion, func(m map[int16]versionRange) { m[0] = versionRange{20, 30} }),
			err:    "Produce v20-30,",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := choose(tc.ranges, []string{"0", "1"})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "no Kafka version the client knows fits") {
					t.Fatalf("choose() error %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("choose(): %v", err)
			}
			if c.Version.String() != tc.want {
				t.Errorf("chose %s, want %s (why: %s)", c.Version, tc.want, c.Why)
			}
			for _, part := range tc.why {
				if !strings.Contains(c.Why, part) {
					t.Errorf("why %q does not contain %q", c.Why, part)
				}
			}
		})
	}
}

func TestIntersect(t *testing.T) {
	got := intersect([]map[int16]versionRange{
		{0: {0, 9}, 1: {4, 13}, 3: {0, 12}},
		{0: {3, 10}, 1: {0, 11}},
	})
	want := map[int16]versionRange{0: {3, 9}, 1: {4, 11}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("intersect = %v, want %v (Metadata, which the second broker lacks, left out)", got, want)
	}
}

// TestRequestVersionsMatchSarama runs what the runner does (create a topic,
// produce idempotently, consume in a group that commits) with sarama
// against a kfake cluster that accepts every version, at several Kafka
// versions, and checks that sarama sends each request at the version apis
// says: the table copied from sarama's source must not drift from it.
func TestRequestVersionsMatchSarama(t *testing.T) {
	for _, v := range []sarama.KafkaVersion{sarama.V0_11_0_0, sarama.V1_1_0_0, sarama.V2_3_0_0, sarama.V2_8_0_0, sarama.V3_7_0_0, sarama.MaxVersion} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			sent := sentVersions(t, v)
			for _, a := range apis {
				got, ok := sent[a.key]
				if !ok {
					t.Errorf("%s: sarama sent no request", a.name)
					continue
				}
				if want := a.version(v); got != want {
					t.Errorf("%s: sarama sent v%d, apis says v%d", a.name, got, want)
				}
			}
		})
	}
}

// sentVersions runs the runner's requests at v and returns the newest
// version of each request key sarama sent.
func sentVersions(t *testing.T, v sarama.KafkaVersion) map[int16]int16 {
	t.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	var mu sync.Mutex
	sent := map[int16]int16{}
	kc.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		mu.Lock()
		if n, ok := sent[req.Key()]; !ok || req.GetVersion() > n {
			sent[req.Key()] = req.GetVersion()
		}
		mu.Unlock()
		return nil, nil, false
	})
	seen := func(key int16) bool {
		mu.Lock()
		defer mu.Unlock()
		_, ok := sent[key]
		return ok
	}
	addrs := kc.ListenAddrs()
	const topic = "t"

	cfg := ConfigFor(v)
	admin, err := sarama.NewClusterAdmin(addrs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = admin.Close() }()
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatalf("create topic: %v", err)
	}

	pcfg := ConfigFor(v)
	pcfg.Producer.Idempotent = true
	pcfg.Producer.RequiredAcks = sarama.WaitForAll
	pcfg.Producer.Retry.Max = 1
	pcfg.Net.MaxOpenRequests = 1
	producer, err := sarama.NewSyncProducer(addrs, pcfg)
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder("x")}); err != nil {
		t.Fatalf("produce: %v", err)
	}
	_ = producer.Close()

	gcfg := ConfigFor(v)
	gcfg.Consumer.Group.Heartbeat.Interval = 50 * time.Millisecond
	gcfg.Consumer.Offsets.AutoCommit.Enable = false
	group, err := sarama.NewConsumerGroup(addrs, "g", gcfg)
	if err != nil {
		t.Fatalf("consumer group: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := &readOne{heartbeat: func() bool { return seen(int16(kmsg.Heartbeat)) }, done: cancel}
	if err := group.Consume(ctx, []string{topic}, h); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("consume: %v", err)
	}
	if err := group.Close(); err != nil {
		t.Fatalf("close group: %v", err)
	}
	if !h.read {
		t.Fatalf("the group read nothing within 30s")
	}
	mu.Lock()
	defer mu.Unlock()
	return sent
}

// readOne reads one message, commits it once a heartbeat was sent, and
// ends the session.
type readOne struct {
	heartbeat func() bool
	done      func()
	read      bool
}

func (h *readOne) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *readOne) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *readOne) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		for !h.heartbeat() && s.Context().Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		s.MarkMessage(m, "")
		s.Commit()
		h.read = true
		h.done()
		return nil
	}
	return nil
}
