//go:build !unix

package cluster

import "os/exec"

// inOwnGroup leaves cmd as it is: process groups are a unix notion, so only
// the hook's own process is killed on cancellation.
func inOwnGroup(*exec.Cmd) {}

// killGroup does nothing: without process groups only the hook's own
// process, which has exited, is known.
func killGroup(*exec.Cmd) {}
