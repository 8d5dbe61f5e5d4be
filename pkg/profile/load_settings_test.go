package profile

import (
	"strings"
	"testing"
)

// The load settings decode from YAML with their lines, so that problems
// name them.
func TestLoadSettingsYAML(t *testing.T) {
	p := mustParse(t, "load.yaml", `name: load
workload:
  messages: 100
  keys: 4
  producers: 8
  rate: -5
  concurrent_consume: true
  engine: librdkafka
`)
	if w := p.Workload; w.Producers != 8 || w.Rate != -5 || !w.ConcurrentConsume {
		t.Fatalf("workload = %+v", w)
	}
	err := p.Validate(known)
	if err == nil {
		t.Fatal("Validate accepted 8 producers for 4 keys and a negative rate")
	}
	for _, want := range []string{
		"load.yaml:5: workload.producers: 8 is more than workload.keys (4): each producer sends its own keys",
		"load.yaml:6: workload.rate: must be 0 (as fast as possible) or a rate in messages per second, not -5",
		`load.yaml:8: workload.engine: "librdkafka" is not an engine: use batch (record batches, the default) or sarama (sarama's AsyncProducer)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// Left out, the load settings are one producer, no rate, consume after produce.
func TestLoadSettingsDefaults(t *testing.T) {
	p := mustParse(t, "plain.yaml", "name: plain\n")
	if w := p.Workload; w.Producers != 1 || w.Rate != 0 || w.ConcurrentConsume || w.Engine != EngineBatch {
		t.Fatalf("workload = %+v, want 1 producer, rate 0, no concurrent consume, the batch engine", w)
	}
}

// The scale profile is the 100 x 1,000,000 run of the README's Performance section.
func TestScaleProfile(t *testing.T) {
	p, err := Load("scale")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(known); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if p.Topic.Partitions != 100 || p.Workload.Messages != 1000000 || p.Cluster.Mode != ModeEmbedded {
		t.Errorf("scale: %d partitions, %d messages, %s cluster; want 100, 1000000, embedded", p.Topic.Partitions, p.Workload.Messages, p.Cluster.Mode)
	}
}
