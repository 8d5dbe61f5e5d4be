// Package configs holds the profiles compiled into the chronik-e2e binary, so
// a profile name works from any folder.
package configs

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

// FS holds every configs/*.yaml profile, by file name (e.g. "3x3.yaml").
//
//go:embed *.yaml
var FS embed.FS

// Names returns the names of the embedded profiles without ".yaml", sorted.
func Names() []string {
	files, _ := fs.Glob(FS, "*.yaml") // the pattern is valid, so no error
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(f, ".yaml"))
	}
	sort.Strings(names)
	return names
}
