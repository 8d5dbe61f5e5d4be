package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
)

// Auto is the cluster.kafka_version that asks the brokers which protocol
// version to speak (see Resolve).
const Auto = "auto"

// VersionForms lists the accepted forms of cluster.kafka_version, for errors.
const VersionForms = "auto, or a Kafka release such as 3.6.0, 3.6, 2.8, 0.11.0 or 0.11.0.0"

// ProbeVersion is the version spoken before auto is resolved: to wait for
// the cluster and to ask it for its ApiVersions. It is sarama's default, the
// version sarama covers fully; sarama lowers each request to the range the
// broker advertises.
var ProbeVersion = sarama.DefaultVersion

// ParseVersion parses a cluster.kafka_version: auto, or a Kafka release in
// two to four parts ("2.8", "3.6.0", "0.11.0", "0.11.0.0") that sarama
// knows. For auto it returns ProbeVersion and auto = true.
func ParseVersion(s string) (v sarama.KafkaVersion, auto bool, err error) {
	s = strings.TrimSpace(s)
	if s == Auto {
		return ProbeVersion, true, nil
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return v, false, fmt.Errorf("%q is not a version: use %s", s, VersionForms)
		}
	}
	want := 3 // "3.6.0"; releases before 1.0 have four parts, "0.11.0.0"
	if parts[0] == "0" {
		want = 4
	}
	if len(parts) < 2 || len(parts) > want {
		return v, false, fmt.Errorf("%q is not a version: use %s", s, VersionForms)
	}
	for len(parts) < want {
		parts = append(parts, "0")
	}
	v, err = sarama.ParseKafkaVersion(strings.Join(parts, "."))
	if err != nil {
		return v, false, fmt.Errorf("%q is not a version: use %s", s, VersionForms)
	}
	if !slices.Contains(sarama.SupportedVersions, v) {
		return v, false, fmt.Errorf("%q is not a Kafka release the client knows (%s to %s): use %s", s, sarama.MinVersion, sarama.MaxVersion, VersionForms)
	}
	return v, false, nil
}

// api is one request the runner sends, with the version of it that sarama
// sends when it speaks a given Kafka version.
type api struct {
	name    string
	key     int16
	version func(sarama.KafkaVersion) int16
}

// apis are the requests the runner sends (ApiVersions, which sarama
// downgrades on its own, and DescribeCluster, for which it falls back to
// Metadata, aside). Where sarama builds a request with a constructor that
// takes the Kafka version, the constructor is asked; elsewhere its choice is
// copied from its source (sarama v1.61: produce_set.go buildRequest,
// consumer.go fetchNewMessages, client.go findCoordinator, consumer_group.go,
// transaction_manager.go initProducerID), and version_test.go checks the
// copies against what sarama sends.
var apis = []api{
	{"Produce", 0, since([]at{{sarama.V0_10_0_0, 2}, {sarama.V0_11_0_0, 3}, {sarama.V1_0_0_0, 5}, {sarama.V2_0_0_0, 6}, {sarama.V2_1_0_0, 7}, {sarama.V2_4_0_0, 8}, {sarama.V2_8_0_0, 9}, {sarama.V3_7_0_0, 10}})},
	{"Fetch", 1, since([]at{{sarama.V0_9_0_0, 1}, {sarama.V0_10_0_0, 2}, {sarama.V0_10_1_0, 3}, {sarama.V0_11_0_0, 5}, {sarama.V1_0_0_0, 6}, {sarama.V1_1_0_0, 7}, {sarama.V2_0_0_0, 8}, {sarama.V2_1_0_0, 10}, {sarama.V2_3_0_0, 11}, {sarama.V2_7_0_0, 12}})},
	{"ListOffsets", 2, func(v sarama.KafkaVersion) int16 { return sarama.NewOffsetRequest(v).Version }},
	{"Metadata", 3, func(v sarama.KafkaVersion) int16 { return sarama.NewMetadataRequest(v, nil).Version }},
	{"OffsetCommit", 8, func(v sarama.KafkaVersion) int16 {
		cfg := sarama.NewConfig()
		cfg.Version = v
		return sarama.NewOffsetCommitRequest(cfg, "").Version
	}},
	{"OffsetFetch", 9, func(v sarama.KafkaVersion) int16 { return sarama.NewOffsetFetchRequest(v, "", nil).Version }},
	{"FindCoordinator", 10, since([]at{{sarama.V0_11_0_0, 1}, {sarama.V2_0_0_0, 2}, {sarama.V2_4_0_0, 3}})},
	{"JoinGroup", 11, func(v sarama.KafkaVersion) int16 { return sarama.NewJoinGroupRequest(v).Version }},
	{"Heartbeat", 12, since([]at{{sarama.V0_11_0_0, 1}, {sarama.V2_0_0_0, 2}, {sarama.V2_3_0_0, 3}, {sarama.V2_4_0_0, 4}})},
	{"LeaveGroup", 13, since([]at{{sarama.V0_11_0_0, 1}, {sarama.V2_0_0_0, 2}, {sarama.V2_4_0_0, 4}, {sarama.V3_2_0_0, 5}})},
	{"SyncGroup", 14, since([]at{{sarama.V0_11_0_0, 1}, {sarama.V2_0_0_0, 2}, {sarama.V2_3_0_0, 3}, {sarama.V2_4_0_0, 4}, {sarama.V2_5_0_0, 5}})},
	{"CreateTopics", 19, func(v sarama.KafkaVersion) int16 { return sarama.NewCreateTopicsRequest(v, nil, 0, false).Version }},
	{"InitProducerId", 22, since([]at{{sarama.V2_0_0_0, 1}, {sarama.V2_4_0_0, 2}, {sarama.V2_5_0_0, 3}, {sarama.V2_7_0_0, 4}})},
}

// at is a request version sarama sends from a Kafka version on.
type at struct {
	from    sarama.KafkaVersion
	version int16
}

// since returns a version function from steps, oldest first: the request
// version of the newest step the Kafka version reaches, 0 before the first.
func since(steps []at) func(sarama.KafkaVersion) int16 {
	return func(v sarama.KafkaVersion) int16 {
		var out int16
		for _, s := range steps {
			if v.IsAtLeast(s.from) {
				out = s.version
			}
		}
		return out
	}
}

// versionRange is a request's versions a broker accepts.
type versionRange struct{ min, max int16 }

func (r versionRange) String() string { return fmt.Sprintf("v%d-%d", r.min, r.max) }

// Choice is the protocol version a run speaks, and why.
type Choice struct {
	Version sarama.KafkaVersion
	// Why says where the version came from: the profile, or for auto what
	// the brokers advertise and which request ruled out a newer version.
	Why string
}

// Resolve decides the version a run speaks from spec, a cluster.kafka_version.
// A release is taken as it is. For auto it asks every broker (id to
// address) for its ApiVersions, speaking cfg, and chooses the newest version
// sarama knows whose requests the runner sends (apis) are all within what
// every broker advertises; requests no broker advertises at all are left out
// of the choice, and Why names them.
func Resolve(ctx context.Context, spec string, brokers map[int32]string, cfg *sarama.Config) (Choice, error) {
	v, auto, err := ParseVersion(spec)
	if err != nil {
		return Choice{}, err
	}
	if !auto {
		return Choice{Version: v, Why: "set by cluster.kafka_version"}, nil
	}
	ids := make([]int32, 0, len(brokers))
	for id := range brokers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var advertised []map[int16]versionRange
	var asked []string
	for _, id := range ids {
		ranges, err := apiVersions(ctx, brokers[id], cfg)
		if err != nil {
			return Choice{}, fmt.Errorf("kafka_version auto: ApiVersions of broker %d at %s: %w", id, brokers[id], err)
		}
		advertised = append(advertised, ranges)
		asked = append(asked, strconv.Itoa(int(id)))
	}
	if len(advertised) == 0 {
		return Choice{}, errors.New("kafka_version auto: no broker to ask for its ApiVersions")
	}
	return choose(intersect(advertised), asked)
}

// choose picks the newest version sarama knows whose requests of apis all
// fall within ranges (what every one of the brokers named in who accepts).
func choose(ranges map[int16]versionRange, who []string) (Choice, error) {
	var have, missing []string
	for _, a := range apis {
		if r, ok := ranges[a.key]; ok {
			have = append(have, a.name+" "+r.String())
		} else {
			missing = append(missing, a.name)
		}
	}
	brokers := "broker " + who[0] + " advertises"
	if len(who) > 1 {
		brokers = "brokers " + strings.Join(who, ", ") + " advertise"
	}
	seen := fmt.Sprintf("auto: %s %s", brokers, strings.Join(have, ", "))
	if len(missing) > 0 {
		seen += fmt.Sprintf(" (and not %s)", strings.Join(missing, ", "))
	}
	var newer string // why the version above the chosen one did not fit
	for i := len(sarama.SupportedVersions) - 1; i >= 0; i-- {
		v := sarama.SupportedVersions[i]
		misfit := ""
		for _, a := range apis {
			r, ok := ranges[a.key]
			if n := a.version(v); ok && (n < r.min || n > r.max) {
				misfit = fmt.Sprintf("%s would send %s v%d", v, a.name, n)
				break
			}
		}
		if misfit == "" {
			why := fmt.Sprintf("%s; chose %s, the newest version the client knows", seen, v)
			if newer != "" {
				why = fmt.Sprintf("%s; chose %s (%s)", seen, v, newer)
			}
			return Choice{Version: v, Why: why}, nil
		}
		newer = misfit
	}
	return Choice{}, fmt.Errorf("%s; no Kafka version the client knows fits (even %s would send requests outside these ranges): set cluster.kafka_version to the release the cluster implements", seen, sarama.MinVersion)
}

// intersect returns, for each request every broker advertises, the
// versions all of them accept.
func intersect(advertised []map[int16]versionRange) map[int16]versionRange {
	out := map[int16]versionRange{}
	for key, r := range advertised[0] {
		all := true
		for _, other := range advertised[1:] {
			o, ok := other[key]
			if !ok {
				all = false
				break
			}
			r = versionRange{max(r.min, o.min), min(r.max, o.max)}
		}
		if all {
			out[key] = r
		}
	}
	return out
}

// apiVersions asks the broker at addr for the request versions it accepts.
// Opening the connection, sarama has already asked (falling back to an older
// ApiVersions for an older broker), and it sends this request at a version
// the broker accepts.
func apiVersions(ctx context.Context, addr string, cfg *sarama.Config) (map[int16]versionRange, error) {
	type result struct {
		resp *sarama.ApiVersionsResponse
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		b := sarama.NewBroker(addr)
		if err := b.Open(cfg); err != nil {
			ch <- result{err: err}
			return
		}
		defer func() { _ = b.Close() }()
		resp, err := b.ApiVersions(&sarama.ApiVersionsRequest{Version: 3, ClientSoftwareName: cfg.ClientID, ClientSoftwareVersion: "0"})
		ch <- result{resp, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer: %w", ctx.Err())
	}
	if r.err != nil {
		return nil, r.err
	}
	if kerr := sarama.KError(r.resp.ErrorCode); kerr != sarama.ErrNoError {
		return nil, kerr
	}
	ranges := make(map[int16]versionRange, len(r.resp.ApiKeys))
	for _, k := range r.resp.ApiKeys {
		ranges[k.ApiKey] = versionRange{k.MinVersion, k.MaxVersion}
	}
	return ranges, nil
}

// FetchVersion is the Fetch request version sarama's consumer sends when it
// speaks Kafka version v (the same table Resolve checks brokers against).
func FetchVersion(v sarama.KafkaVersion) int16 {
	for _, a := range apis {
		if a.name == "Fetch" {
			return a.version(v)
		}
	}
	panic("kafka: no Fetch in the request table")
}
