package profile

import (
	"fmt"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/configs"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
)

// FuzzParse: every input ends in a valid profile or in exit-2 problems,
// never in a panic or a hang. Seeded with the built-in profiles and inputs
// that once slipped through (empty, a second document, a custom tag, a
// float for a number). `make fuzz` runs it for longer.
func FuzzParse(f *testing.F) {
	for _, name := range configs.Names() {
		b, err := configs.FS.ReadFile(name + ".yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "~", "# comment\n", "name: a\n---\nworkload: {messages: bogus}\n",
		"workload: {messages: 1.5}\n", "workload: {keys: 1e11}\n", "name: !foo bar\n",
		"cluster: {mode: spawn, nodes: 3, spawn: {command: ['{{range .Peers}}{{.ID}}{{end}}'], ports: [kafka]}}\n",
		"a: &a [*a]\n", "cluster: &c {nodes: *c}\n", "scenarios: [produce, produce, nope]\nthresholds: ['x <']\n",
	} {
		f.Add([]byte(s))
	}
	known := []string{"topic-create", "produce", "consume", "metadata", "leader-failover"}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer hangGuard(data)()
		p, err := Parse("f.yaml", data)
		if p == nil {
			if exitcode.Code(err) != exitcode.Usage {
				t.Fatalf("Parse: no profile and error %v (exit %d), want exit-2 problems", err, exitcode.Code(err))
			}
			return
		}
		verr := p.Validate(known)
		switch {
		case err != nil && verr == nil:
			t.Fatalf("Parse found %v, Validate nothing", err)
		case verr != nil && exitcode.Code(verr) != exitcode.Usage:
			t.Fatalf("Validate: %v (exit %d), want exit-2 problems", verr, exitcode.Code(verr))
		}
	})
}

// hangGuard crashes the fuzz worker, naming the input, when the input takes
// longer than a parse ever should (on any machine): the fuzzer then
// reports the hang as a failure with the input, instead of stalling.
func hangGuard(data []byte) (stop func()) {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			panic(fmt.Sprintf("input %q is still being parsed after 20s", data))
		}
	}()
	return func() { close(done) }
}
