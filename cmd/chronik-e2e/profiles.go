package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/configs"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// profileEntry is one profile `profiles` lists.
type profileEntry struct {
	Name    string `json:"name"`    // what --profile takes
	Source  string `json:"source"`  // configs/3x3.yaml or builtin:3x3.yaml
	Summary string `json:"summary"` // the cluster and workload in one line, or what is wrong
	Digest  string `json:"digest,omitempty"`
	// Shadows or ShadowedBy link a local profile and the built-in one of the same name.
	Shadows    string `json:"shadows,omitempty"`
	ShadowedBy string `json:"shadowed_by,omitempty"`
	Valid      bool   `json:"valid"`
}

// listProfiles returns the profiles of ./configs, then the built-in ones.
func listProfiles() []profileEntry {
	var out []profileEntry
	local := map[string]string{} // name → source
	files, _ := filepath.Glob(filepath.Join("configs", "*.y*ml"))
	slices.Sort(files)
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".yaml"), ".yml")
		data, err := os.ReadFile(f)
		if err != nil {
			out = append(out, profileEntry{Name: name, Source: f, Summary: err.Error()})
			continue
		}
		e := describeProfile(name, f, data)
		if slices.Contains(configs.Names(), name) {
			e.Shadows = profile.BuiltinPrefix + name + ".yaml"
		}
		local[name] = f
		out = append(out, e)
	}
	for _, name := range configs.Names() {
		data, _ := profile.Builtin(name)
		e := describeProfile(name, profile.BuiltinPrefix+name+".yaml", data)
		if src, ok := local[name]; ok {
			e.ShadowedBy = src
			e.Name = profile.BuiltinPrefix + name // what --profile takes to get this one
		}
		out = append(out, e)
	}
	return out
}

// describeProfile parses a profile and says what it runs in one line.
func describeProfile(name, source string, data []byte) profileEntry {
	e := profileEntry{Name: name, Source: source}
	p, err := profile.Parse(source, data)
	if err == nil {
		err = p.Validate(scenarios.Names())
	}
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		e.Summary = "invalid: " + first
		return e
	}
	e.Valid, e.Digest = true, p.Digest
	e.Summary = fmt.Sprintf("%s, %d node(s), %d partition(s), RF %d, %d messages, acks=%s, %d scenario(s)",
		p.Cluster.Mode, p.Cluster.Nodes, p.Topic.Partitions, p.Topic.ReplicationFactor, p.Workload.Messages, p.Workload.Acks, len(p.Scenarios))
	return e
}

// newProfilesCmd returns `chronik-e2e profiles`.
func newProfilesCmd(t *term.Terminal) *cobra.Command {
	var jsonPath string
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List the profiles --profile finds by name: ./configs, then the built-in ones",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			ps := listProfiles()
			if jsonPath != "" {
				return usageErr(writeJSONValue(t, jsonPath, ps))
			}
			w := 0
			for _, p := range ps {
				w = max(w, len(p.Name))
			}
			for _, p := range ps {
				line := fmt.Sprintf("%-*s  %s  (%s)", w, p.Name, p.Summary, p.Source)
				switch {
				case p.Shadows != "":
					line += ", shadows " + p.Shadows
				case p.ShadowedBy != "":
					line += ", shadowed by " + p.ShadowedBy
				}
				fmt.Fprintln(t.Out, line)
			}
			return nil
		},
	}
	addJSONFlag(cmd, &jsonPath)
	return cmd
}

// newProfileCmd returns `chronik-e2e profile`, with `profile show NAME`.
func newProfileCmd(t *term.Terminal) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Show a profile",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return exitcode.Usagef("unknown profile command %q (known: show)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Print the YAML of the profile --profile NAME would use (builtin:NAME for a built-in one)",
		Example: `  chronik-e2e profile show 3x3
  chronik-e2e profile show builtin:3x3 > configs/mine.yaml`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return exitcode.Usagef("profile show takes one profile name or path, not %d argument(s)", len(args))
			}
			return nil
		},
		ValidArgsFunction: completeProfiles,
		RunE: func(_ *cobra.Command, args []string) error {
			data, source, err := profile.Find(args[0])
			if err != nil {
				return err
			}
			if t.Verbosity() != term.Quiet {
				fmt.Fprintf(t.ErrOut, "# %s\n", source)
			}
			_, err = t.Out.Write(data)
			return err
		},
	}
	cmd.AddCommand(show)
	return cmd
}

// completeProfiles completes profile names: ./configs and the built-in ones.
func completeProfiles(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, p := range listProfiles() {
		names = append(names, p.Name+"\t"+p.Summary)
	}
	// Paths to YAML files complete too.
	return names, cobra.ShellCompDirectiveDefault
}
