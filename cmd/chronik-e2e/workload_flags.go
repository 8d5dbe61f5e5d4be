package main

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// addWorkloadFlags registers a flag for each workload and timeout key, and
// --threshold and --tag.
func addWorkloadFlags(cmd *cobra.Command, o *RunOptions) {
	f := cmd.Flags()
	f.Int(profile.FlagRate, 0, "target send rate in messages per second over all producers; 0: as fast as the cluster takes them (workload.rate)")
	f.Int(profile.FlagProducers, 0, "producers sending at once, each its own keys (workload.producers)")
	f.Int(profile.FlagValueBytes, 0, "bytes of each message's value, at least 32 (workload.value_bytes)")
	f.Int(profile.FlagKeys, 0, "distinct message keys (workload.keys)")
	f.Duration(profile.FlagReadyTimeout, 0, "how long to wait for the cluster to be ready, e.g. 2m (timeouts.cluster_ready)")
	f.Duration(profile.FlagScenarioTimeout, 0, "deadline of each scenario, e.g. 5m (timeouts.scenario)")
	f.Duration(profile.FlagSettle, 0, "how long a topic's end offsets must stay still before the final audit, e.g. 2s (timeouts.settle)")
	f.Bool(profile.FlagConcurrentConsume, false, "read while producing and report end-to-end latency (workload.concurrent_consume)")
	f.Bool(profile.FlagReplicaReads, false, "consume also reads every partition from every replica and compares them (workload.replica_reads)")
	f.StringArrayVar(&o.Overrides.Thresholds, profile.FlagThreshold, nil, "a threshold every run must meet, e.g. 'produce.p99_ms < 50' (repeatable; added to the profile's; chronik-e2e metrics lists the metrics)")
	f.StringArrayVar(&o.TagArgs, "tag", nil, "label the run key=value, recorded in every report format (repeatable), e.g. --tag version=v2.11.0-rc1")
}

// readWorkloadFlags fills the overrides of the workload and timeout flags the
// user set, and parses the tags.
func readWorkloadFlags(cmd *cobra.Command, o *RunOptions) error {
	for name, dst := range map[string]**int{
		profile.FlagRate:       &o.Overrides.Rate,
		profile.FlagProducers:  &o.Overrides.Producers,
		profile.FlagValueBytes: &o.Overrides.ValueBytes,
		profile.FlagKeys:       &o.Overrides.Keys,
	} {
		if cmd.Flags().Changed(name) {
			v, _ := cmd.Flags().GetInt(name)
			*dst = &v
		}
	}
	for name, dst := range map[string]**time.Duration{
		profile.FlagReadyTimeout:    &o.Overrides.ReadyTimeout,
		profile.FlagScenarioTimeout: &o.Overrides.ScenarioTimeout,
		profile.FlagSettle:          &o.Overrides.Settle,
	} {
		if cmd.Flags().Changed(name) {
			v, _ := cmd.Flags().GetDuration(name)
			*dst = &v
		}
	}
	if cmd.Flags().Changed(profile.FlagReplicaReads) {
		v, _ := cmd.Flags().GetBool(profile.FlagReplicaReads)
		o.Overrides.ReplicaReads = &v
	}
	if cmd.Flags().Changed(profile.FlagConcurrentConsume) {
		v, _ := cmd.Flags().GetBool(profile.FlagConcurrentConsume)
		o.Overrides.ConcurrentConsume = &v
	}
	for _, kv := range o.TagArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return exitcode.Usagef("--tag %s: want key=value, e.g. --tag version=v2.11.0", kv)
		}
		if o.Tags == nil {
			o.Tags = map[string]string{}
		}
		if _, dup := o.Tags[k]; dup {
			return exitcode.Usagef("--tag %s: the key %s is given twice", kv, k)
		}
		o.Tags[k] = v
	}
	return nil
}
