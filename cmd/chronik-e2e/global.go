package main

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/suggest"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// globalOptions are the root's persistent flags, which every command takes.
type globalOptions struct {
	noColor bool // --no-color
	quiet   bool // --quiet: the summary only
	verbose int  // -v: more detail on stderr; -vv more still
}

// addGlobalFlags registers the persistent flags on root and applies them to t
// before any command runs.
func addGlobalFlags(root *cobra.Command, t *term.Terminal) {
	g := &globalOptions{}
	f := root.PersistentFlags()
	f.BoolVar(&g.noColor, "no-color", false, "no colour, on a terminal too (NO_COLOR is honoured as well)")
	f.BoolVarP(&g.quiet, "quiet", "q", false, "print the summary only: each scenario's verdict and the final verdict")
	f.CountVarP(&g.verbose, "verbose", "v", "more detail on stderr: every status line and each scenario's verdict as it finishes (-vv: the Kafka client's log too)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if g.quiet && g.verbose > 0 {
			return exitcode.Usagef("--quiet and --verbose contradict each other: give one")
		}
		if g.noColor {
			t.SetColor(false)
		}
		switch {
		case g.quiet:
			t.SetVerbosity(term.Quiet)
		case g.verbose > 0:
			t.SetVerbosity(term.Verbosity(g.verbose))
		}
		return nil
	}
}

// flagError turns pflag's errors into messages in the user's words: an
// unknown flag with the flags close to it, a value that is not of the flag's
// type with the type named. Every flag error is bad usage (exit 2).
func flagError(cmd *cobra.Command, err error) error {
	var notExist *pflag.NotExistError
	if errors.As(err, &notExist) {
		name := notExist.GetSpecifiedName()
		if notExist.GetSpecifiedShortnames() != "" {
			return exitcode.Usagef("unknown flag -%s in -%s; run %s --help for the flags", name, notExist.GetSpecifiedShortnames(), cmd.CommandPath())
		}
		msg := "unknown flag --" + name
		if s := suggestFlags(cmd, name); len(s) > 0 {
			msg += " (did you mean " + strings.Join(s, " or ") + "?)"
		}
		return exitcode.Usagef("%s; run %s --help for the flags", msg, cmd.CommandPath())
	}
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		fl := invalid.GetFlag()
		return exitcode.Usagef("--%s: %q is not %s", fl.Name, invalid.GetValue(), flagTypeWords(fl))
	}
	var required *pflag.ValueRequiredError
	if errors.As(err, &required) {
		fl := required.GetFlag()
		return exitcode.Usagef("--%s needs a value (%s)", fl.Name, flagTypeWords(fl))
	}
	return exitcode.UsageError(err)
}

// flagTypeWords says what a value of flag fl must look like.
func flagTypeWords(fl *pflag.Flag) string {
	switch fl.Value.Type() {
	case "int", "int32", "int64", "uint", "count":
		return "a whole number"
	case "float64", "float32":
		return "a number"
	case "duration":
		return "a duration like 30s, 2m or 1h"
	case "bool":
		return "true or false"
	case "stringToString":
		return "a list of key=value"
	}
	return "a valid " + fl.Value.Type()
}

// suggestFlags returns the flags of cmd (its own and inherited) whose names
// are close to name, as "--name".
func suggestFlags(cmd *cobra.Command, name string) []string {
	var out []string
	visit := func(fl *pflag.Flag) {
		if fl.Hidden || slices.Contains(out, "--"+fl.Name) {
			return
		}
		if suggest.Distance(name, fl.Name) <= 2 || (len(name) >= 3 && strings.HasPrefix(fl.Name, name)) {
			out = append(out, "--"+fl.Name)
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	slices.Sort(out)
	return out
}

// versionLine is what `version` and `--version` print.
func versionLine() string {
	return fmt.Sprintf("chronik-e2e %s (%s, %s/%s)", versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
