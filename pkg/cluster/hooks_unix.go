//go:build unix

package cluster

import (
	"os/exec"
	"syscall"
)

// inOwnGroup starts cmd in a process group of its own and makes its
// cancellation kill the whole group, so that nothing a hook started outlives it.
func inOwnGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

// killGroup kills what is left of cmd's process group once cmd has exited:
// a hook's background processes, which must not outlive it.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
