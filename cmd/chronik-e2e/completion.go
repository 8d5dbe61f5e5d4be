package main

import (
	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// registerRunCompletions completes the values of the run flags that take one
// of a known set: profile names, acks, topic.delete, SASL mechanisms.
func registerRunCompletions(cmd *cobra.Command) {
	fixed := func(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = cmd.RegisterFlagCompletionFunc("profile", completeProfiles)
	_ = cmd.RegisterFlagCompletionFunc(profile.FlagAcks, fixed("0\tno acknowledgement", "1\tthe leader's", "all\tevery in-sync replica's"))
	_ = cmd.RegisterFlagCompletionFunc(profile.FlagTopicDelete, fixed(profile.DeleteOnPass, profile.DeleteAlways, profile.DeleteNever))
	_ = cmd.RegisterFlagCompletionFunc(profile.FlagSASLMechanism, fixed(kafka.Mechanisms...))
	_ = cmd.RegisterFlagCompletionFunc(profile.FlagFaultTarget, fixed("leader-of-most", "random", "node:"))
	_ = cmd.RegisterFlagCompletionFunc(profile.FlagClientProperty, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		var keys []string
		for _, k := range profile.ClientProperties() {
			keys = append(keys, k+"=")
		}
		return keys, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	})
}

// completeScenarios completes one scenario name.
func completeScenarios(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, s := range scenarios.All() {
		names = append(names, s.Name()+"\t"+s.Summary())
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
