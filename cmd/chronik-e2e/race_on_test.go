//go:build race

package main

// raceEnabled: the tests run under the race detector, which multiplies the
// memory a process uses.
const raceEnabled = true
