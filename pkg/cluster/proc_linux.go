package cluster

import "syscall"

// sysProcAttr puts a node in its own process group, so that a Ctrl-C on the
// runner's terminal reaches the runner alone (which then stops the nodes in
// order), and has the kernel SIGKILL the node when the thread that started
// it exits, which happens when the runner dies in any way, SIGKILL
// included. The thread is the launcher's, locked for the cluster's life.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
