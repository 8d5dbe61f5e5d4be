// Package scenarios holds the registered checks a run is made of. Each
// scenario reads and writes one shared Env, and records its verdict, findings
// and measurements in a Step.
package scenarios

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Scenario is one registered check.
type Scenario interface {
	// Name is the scenario's name in profiles and on the command line.
	Name() string
	// Summary is one line for `chronik-e2e scenarios`.
	Summary() string
	// Requires names the scenarios that must run first.
	Requires() []string
	// Run performs the scenario. A returned error means it could not finish
	// (a deadline, a cluster that did not answer); failed checks are
	// recorded with step.Failf and do not stop it.
	Run(ctx context.Context, env *Env, step *Step) error
}

// Sharded is implemented by the scenarios a shard of a run group may run
// (--shard): they write and read the run's shared topic alone, honour
// Env.Shard, and stop no node under the other shards.
type Sharded interface {
	Scenario
	RunsSharded()
}

// SkipError is returned by Run when a scenario cannot run because what it
// needs is missing; the scenario is reported as skipped, which fails the run.
type SkipError struct{ Reason string }

// Error returns "skipped: REASON".
func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip returns a SkipError with a formatted reason.
func Skip(format string, args ...any) error { return &SkipError{Reason: fmt.Sprintf(format, args...)} }

// IsSkip reports whether err is a SkipError.
func IsSkip(err error) bool {
	var s *SkipError
	return errors.As(err, &s)
}

var (
	registryMu sync.Mutex
	registry   = map[string]Scenario{}
	order      []string
)

// Register adds a scenario; it panics on a duplicate name.
func Register(s Scenario) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[s.Name()]; dup {
		panic("scenarios: duplicate scenario " + s.Name())
	}
	registry[s.Name()] = s
	order = append(order, s.Name())
}

// Lookup returns the scenario registered under name.
func Lookup(name string) (Scenario, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	s, ok := registry[name]
	return s, ok
}

// All returns every registered scenario in registration order.
func All() []Scenario {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := make([]Scenario, 0, len(order))
	for _, n := range order {
		out = append(out, registry[n])
	}
	return out
}

// Names returns the registered scenario names in registration order.
func Names() []string {
	var names []string
	for _, s := range All() {
		names = append(names, s.Name())
	}
	return names
}

// Plan returns the scenarios to run for names, in order, with every
// scenario's requirements placed before it (once).
func Plan(names []string) ([]Scenario, error) {
	var plan []Scenario
	seen := map[string]bool{}
	var add func(name string, chain []string) error
	add = func(name string, chain []string) error {
		if seen[name] {
			return nil
		}
		for _, c := range chain {
			if c == name {
				return fmt.Errorf("scenario %q requires itself through %v", name, chain)
			}
		}
		s, ok := Lookup(name)
		if !ok {
			return fmt.Errorf("unknown scenario %q (known: %v)", name, Names())
		}
		for _, r := range s.Requires() {
			if err := add(r, append(chain, name)); err != nil {
				return err
			}
		}
		seen[name] = true
		plan = append(plan, s)
		return nil
	}
	for _, n := range names {
		if err := add(n, nil); err != nil {
			return nil, err
		}
	}
	return plan, nil
}
