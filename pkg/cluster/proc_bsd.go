//go:build unix && !linux

package cluster

import "syscall"

// sysProcAttr puts a node in its own process group. Outside Linux there is
// no parent-death signal: a runner killed with SIGKILL leaves its nodes
// running (Close stops them on every other exit).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
