//go:build !race

package runner_test

// inARow is how many runs in a row a healthy embedded cluster must pass
// each transactional scenario, with and without faults (issue 12). The
// four tests that do so run in parallel and mostly wait on the cluster:
// measured on 2 cores, twenty runs each instead of 5, 5 and 3 (and none of
// exactly-once-failover) took this package from 81 s to 119-127 s, and the
// whole `go test ./...` about 16 s longer, since cmd/chronik-e2e runs
// beside it. The race pass runs fewer (race_on_test.go).
const inARow = 20
