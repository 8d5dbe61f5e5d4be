//go:build !unix

package cluster

import (
	"errors"
	"syscall"
)

// errNoSpawn says why spawn mode cannot run here: it needs Unix process groups and signals.
var errNoSpawn = errors.New("spawn mode needs Linux or another Unix: this system has no process groups to supervise nodes with")

var signals = map[string]syscall.Signal{}

var (
	sigKill syscall.Signal = syscall.Signal(9)
	sigStop syscall.Signal = syscall.Signal(19)
	sigCont syscall.Signal = syscall.Signal(18)
)

func signalGroup(int, syscall.Signal) error { return errNoSpawn }

func sysProcAttr() *syscall.SysProcAttr { return nil }
