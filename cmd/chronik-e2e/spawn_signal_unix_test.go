//go:build unix

package main

import (
	"fmt"
	"syscall"
)

var signalNames = map[string]syscall.Signal{
	"0": 0, "INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL,
	"HUP": syscall.SIGHUP, "QUIT": syscall.SIGQUIT,
	"USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT,
}

// sendSignal sends the signal called name ("TERM", or "0" to probe) to pid.
func sendSignal(pid int, name string) error {
	sig, ok := signalNames[name]
	if !ok {
		return fmt.Errorf("no signal %q", name)
	}
	return syscall.Kill(pid, sig)
}
