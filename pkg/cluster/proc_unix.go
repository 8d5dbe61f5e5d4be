//go:build unix

package cluster

import (
	"errors"
	"syscall"
)

// signals maps the names spawn.stop.signal accepts to signals.
var signals = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM,
	"INT":  syscall.SIGINT,
	"QUIT": syscall.SIGQUIT,
	"HUP":  syscall.SIGHUP,
	"KILL": syscall.SIGKILL,
	"USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

// errNoSpawn says why spawn mode cannot run here: it can.
var errNoSpawn error

// The signals the supervisor itself sends.
var (
	sigKill syscall.Signal = syscall.SIGKILL
	sigStop syscall.Signal = syscall.SIGSTOP
	sigCont syscall.Signal = syscall.SIGCONT
)

// signalGroup sends sig to the process group led by pid (every node runs in
// its own group, so a node's children get it too). A group that is gone
// already is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
