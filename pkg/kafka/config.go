// Package kafka builds the sarama configuration every client of the runner
// uses, so that each network call has a deadline.
package kafka

import (
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Deadlines of the runner's Kafka clients. Chronik's acks=all waits up to 30 s
// for replicas before it answers, so a read must be allowed longer than that.
const (
	DialTimeout  = 5 * time.Second
	ReadTimeout  = 45 * time.Second
	WriteTimeout = 10 * time.Second
)

// Config returns a sarama config for a cluster.kafka_version ("3.6.0"; for
// "auto" the ProbeVersion, until Resolve decides); see ConfigFor.
func Config(version string) (*sarama.Config, error) {
	v, _, err := ParseVersion(version)
	if err != nil {
		return nil, fmt.Errorf("kafka version: %w", err)
	}
	return ConfigFor(v), nil
}

// ConfigFor returns a sarama config speaking protocol version v, with
// explicit deadlines and no hidden produce retries: a failure is counted,
// not retried away.
func ConfigFor(v sarama.KafkaVersion) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "chronik-e2e"
	cfg.Version = v
	cfg.Net.DialTimeout = DialTimeout
	cfg.Net.ReadTimeout = ReadTimeout
	cfg.Net.WriteTimeout = WriteTimeout
	cfg.Metadata.Timeout = 15 * time.Second
	cfg.Metadata.Retry.Max = 2
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Metadata.RefreshFrequency = 0 // refreshed explicitly when the runner needs it
	cfg.Admin.Timeout = 30 * time.Second
	cfg.Admin.Retry.Max = 2
	cfg.Producer.Retry.Max = 0
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Timeout = 10 * time.Second
	cfg.Producer.Partitioner = sarama.NewHashPartitioner
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Retry.Backoff = 100 * time.Millisecond
	cfg.ChannelBufferSize = 1024
	return cfg
}

// RequiredAcks maps a profile's acks ("0", "1", "all") to sarama's setting.
func RequiredAcks(acks string) (sarama.RequiredAcks, error) {
	switch acks {
	case "0":
		return sarama.NoResponse, nil
	case "1":
		return sarama.WaitForLocal, nil
	case "all", "-1":
		return sarama.WaitForAll, nil
	}
	return 0, fmt.Errorf("acks %q: want 0, 1 or all", acks)
}
