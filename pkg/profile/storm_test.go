package profile

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStormSection: a storm section is read with every key, keys left out
// keep their defaults, and bad values are reported with their key and line.
func TestStormSection(t *testing.T) {
	p, err := Parse("s.yaml", []byte(`storm:
  topics: 2000
  restart: true
`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultStorm()
	want.Topics, want.Restart = 2000, true
	if p.Storm != want {
		t.Errorf("storm = %+v, want %+v", p.Storm, want)
	}
	if err := p.Validate([]string{"topic-storm"}); err == nil || !strings.Contains(err.Error(), "scenarios") {
		// The default scenarios are unknown to this list: only that is wrong.
		t.Errorf("Validate = %v, want only the scenarios reported", err)
	}

	p, err = Parse("s.yaml", []byte(`storm:
  topics: 0
  parallelism: 1000
  messages_per_topic: -1
  converge_timeout: 0s
scenarios: [topic-storm]
`))
	if err != nil {
		t.Fatal(err)
	}
	err = p.Validate([]string{"topic-storm"})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	got := strings.Split(ve.Error(), "\n")
	wantLines := []string{
		"s.yaml:2: storm.topics: must be 1..100000, not 0",
		"s.yaml:3: storm.parallelism: must be 1..256 CreateTopics in flight, not 1000",
		"s.yaml:4: storm.messages_per_topic: must be 0..100000, not -1",
		"s.yaml:5: storm.converge_timeout: must be more than 0, not 0s",
	}
	if !slices.Equal(got, wantLines) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
	}
	p, _ = Parse("s.yaml", []byte("storm:\n  restart: true\n  converge_timeout: 1m\ntimeouts:\n  scenario: 90s\nscenarios: [topic-storm]\n"))
	if err := p.Validate([]string{"topic-storm"}); err == nil || !strings.Contains(err.Error(), "s.yaml:3: storm.converge_timeout: the storm may wait 2m for the brokers (twice: before and after the restart), which leaves no time of timeouts.scenario (1m30s)") {
		t.Errorf("converge_timeout beyond the scenario's: %v", err)
	}
	if _, err := Parse("s.yaml", []byte("storm:\n  topic: 3\n")); err == nil || !strings.Contains(err.Error(), `s.yaml:2: unknown key "topic" in storm`) {
		t.Errorf("unknown key: %v", err)
	}
	if d := DefaultStorm().ConvergeTimeout.Duration; d != time.Minute {
		t.Errorf("default converge_timeout %s, want 1m", d)
	}
}

// TestStormConfigs: the shipped storm profiles load, validate and say what
// the README says they do.
func TestStormConfigs(t *testing.T) {
	for _, tc := range []struct {
		ref       string
		mode      string
		topics    int
		threshold string
	}{
		{"storm", ModeEmbedded, 500, ""},
		{"chronik-storm", ModeSpawn, 2000, "node.max_rss_mb < 6000"},
	} {
		p, err := Load("builtin:" + tc.ref)
		if err != nil {
			t.Fatalf("%s: %v", tc.ref, err)
		}
		if err := p.Validate([]string{"topic-storm"}); err != nil {
			t.Errorf("%s: %v", tc.ref, err)
		}
		if p.Cluster.Mode != tc.mode || p.Storm.Topics != tc.topics || !p.Storm.Restart || !slices.Equal(p.Scenarios, []string{"topic-storm"}) {
			t.Errorf("%s: mode %s, storm %+v, scenarios %v", tc.ref, p.Cluster.Mode, p.Storm, p.Scenarios)
		}
		if tc.threshold != "" && !slices.ContainsFunc(p.Thresholds, func(s string) bool { return strings.HasPrefix(s, tc.threshold) }) {
			t.Errorf("%s: thresholds %q lack %q", tc.ref, p.Thresholds, tc.threshold)
		}
	}
}
