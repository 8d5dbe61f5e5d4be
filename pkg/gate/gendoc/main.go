// Command gendoc rewrites the metric table of the README from the metric
// registry: go generate ./pkg/gate.
package main

import (
	"fmt"
	"os"

	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendoc README.md")
		os.Exit(2)
	}
	path := os.Args[1]
	data, err := os.ReadFile(path)
	if err == nil {
		var out string
		if out, err = gate.UpdateREADME(string(data)); err == nil {
			err = os.WriteFile(path, []byte(out), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gendoc: %s: %v\n", path, err)
		os.Exit(1)
	}
}
