package artifacts

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// runDir matches the subdirectories of a repeat's runs (run-1, run-2, ...).
var runDir = regexp.MustCompile(`^run-[0-9]+$`)

// IsArtifact reports whether name, an entry of an artifacts directory, is
// one a run writes.
func IsArtifact(name string) bool {
	return slices.Contains([]string{JSONFile, JUnitFile, MarkdownFile, TextFile, MetricsFile, SpreadFile, LedgerFile, NodesDir}, name) ||
		runDir.MatchString(name)
}

// Earlier returns the entries of the directory at path, which an earlier
// run left there (none when it does not exist).
func Earlier(path string) ([]string, error) {
	entries, err := os.ReadDir(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// Clear removes an earlier run's artifacts from the directory at path
// (--overwrite), so that old and new runs do not mix. It removes nothing and
// fails when the directory holds anything a run does not write: it may not
// be an artifacts directory at all.
func Clear(path string) error {
	names, err := Earlier(path)
	if err != nil {
		return err
	}
	var foreign []string
	for _, n := range names {
		if !IsArtifact(n) {
			foreign = append(foreign, n)
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%s holds files no run writes (%s): it is not an artifacts directory, so nothing was removed; give an empty or new directory", path, strings.Join(foreign, ", "))
	}
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(path, n)); err != nil {
			return fmt.Errorf("remove the earlier run's %s: %w", n, err)
		}
	}
	return nil
}
