// Command genschema writes the JSON Schema of the JSON report:
// go generate ./pkg/report.
package main

import (
	"fmt"
	"os"

	"github.com/chronik-e2e/chronik-e2e/pkg/report/internal/schemagen"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genschema OUT.json (run in pkg/report)")
		os.Exit(2)
	}
	b, err := schemagen.Generate(".")
	if err == nil {
		err = os.WriteFile(os.Args[1], b, 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "genschema: %v\n", err)
		os.Exit(1)
	}
}
