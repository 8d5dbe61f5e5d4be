//go:build unix

package main

import "syscall"

// fdLimit returns the process's limit on open file descriptors (the soft
// limit, which Go raises to the hard one at start-up); 0 when unknown.
func fdLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return uint64(rl.Cur)
}
