package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// captureRun parses args with run and scenario commands whose run is
// replaced by capturing the options.
func captureRun(t *testing.T, args ...string) (*RunOptions, error) {
	t.Helper()
	tm, _, _ := term.Test()
	var got *RunOptions
	capture := func(o *RunOptions) error { got = o; return nil }
	root := newRootCmd(tm)
	root.RemoveCommand(root.Commands()...)
	root.AddCommand(newRunCmd(tm, capture), newScenarioCmd(tm, capture))
	root.SetArgs(args)
	err := root.Execute()
	return got, err
}

// The workload, timeout, topic, security and tag flags land in RunOptions.
func TestRunFlags(t *testing.T) {
	o, err := captureRun(t, "run", "--profile", "3x3", "--rate", "500", "--producers", "4", "--value-bytes", "64", "--keys", "40",
		"--ready-timeout", "90s", "--scenario-timeout", "5m", "--threshold", "produce.p99_ms < 50", "--threshold", "delivery.lost == 0",
		"--tag", "version=v1", "--tag", "ci=7", "--topic-delete", "never", "--existing-topic", "orders",
		"--tls", "--tls-ca", "ca.pem", "--sasl-mechanism", "PLAIN", "--sasl-user", "u", "--sasl-password-env", "PW",
		"-X", "security.protocol=SASL_SSL", "--json", "-", "--overwrite")
	if err != nil {
		t.Fatal(err)
	}
	ov := o.Overrides
	ints := map[string]*int{"rate": ov.Rate, "producers": ov.Producers, "value-bytes": ov.ValueBytes, "keys": ov.Keys}
	for name, want := range map[string]int{"rate": 500, "producers": 4, "value-bytes": 64, "keys": 40} {
		if ints[name] == nil || *ints[name] != want {
			t.Errorf("--%s = %v, want %d", name, ints[name], want)
		}
	}
	if ov.ReadyTimeout == nil || *ov.ReadyTimeout != 90*time.Second || ov.ScenarioTimeout == nil || *ov.ScenarioTimeout != 5*time.Minute {
		t.Errorf("timeouts = %v, %v", ov.ReadyTimeout, ov.ScenarioTimeout)
	}
	if !reflect.DeepEqual(ov.Thresholds, []string{"produce.p99_ms < 50", "delivery.lost == 0"}) {
		t.Errorf("thresholds = %q", ov.Thresholds)
	}
	if !reflect.DeepEqual(o.Tags, map[string]string{"version": "v1", "ci": "7"}) {
		t.Errorf("tags = %v", o.Tags)
	}
	if ov.TopicDelete != "never" || ov.ExistingTopic != "orders" || o.JSONPath != "-" || !o.Overwrite {
		t.Errorf("topic/output options = %+v", o)
	}
	tls := true
	want := profile.SecurityOverrides{TLS: &tls, TLSCA: "ca.pem", SASLMechanism: "PLAIN", SASLUser: "u", PasswordEnv: "PW", Properties: []string{"security.protocol=SASL_SSL"}}
	if !reflect.DeepEqual(ov.Security, want) {
		t.Errorf("security = %+v, want %+v", ov.Security, want)
	}
}

// Flags left out stay unset, so that the profile's values stand.
func TestRunFlagsUnset(t *testing.T) {
	o, err := captureRun(t, "scenario", "produce")
	if err != nil {
		t.Fatal(err)
	}
	ov := o.Overrides
	if ov.Rate != nil || ov.Producers != nil || ov.ReadyTimeout != nil || ov.Security.TLS != nil || o.Tags != nil || len(ov.Thresholds) > 0 {
		t.Errorf("unset flags set overrides: %+v", o)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--profile", "3x3", "--messages", "ten"}, `--messages: "ten" is not a whole number`},
		{[]string{"run", "--profile", "3x3", "--ready-timeout", "10"}, `--ready-timeout: "10" is not a duration like 30s, 2m or 1h`},
		{[]string{"run", "--profile", "3x3", "--tls=maybe"}, `--tls: "maybe" is not true or false`},
		{[]string{"run", "--profile", "3x3", "--mesages", "1"}, "unknown flag --mesages (did you mean --messages?); run chronik-e2e run --help for the flags"},
		{[]string{"run", "--profile", "3x3", "-X", "nope=1"}, `-X nope=1: unknown client property "nope"`},
		{[]string{"run", "--profile", "3x3", "--tag", "=v"}, "--tag =v: want key=value"},
	} {
		_, err := captureRun(t, tt.args...)
		if exitcode.Code(err) != exitcode.Usage {
			t.Errorf("%v: exit %d (%v), want %d", tt.args, exitcode.Code(err), err, exitcode.Usage)
			continue
		}
		if got := err.Error(); len(got) < len(tt.want) || got[:len(tt.want)] != tt.want {
			t.Errorf("%v: %q, want it to start with %q", tt.args, got, tt.want)
		}
	}
}
