package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// newVersionCmd returns `chronik-e2e version`.
func newVersionCmd(t *term.Terminal) *cobra.Command {
	var jsonPath string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if jsonPath != "" {
				return usageErr(versionInfoJSON(t, jsonPath))
			}
			fmt.Fprintln(t.Out, versionLine())
			return nil
		},
	}
	addJSONFlag(cmd, &jsonPath)
	return cmd
}

// versionString is the -ldflags version, or the module version and VCS revision.
func versionString() string {
	if version != "dev" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
