package cluster

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// usageUnavailable is empty: Linux has /proc.
const usageUnavailable = ""

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/PID/stat: 100 on every Linux the runner supports.
const clockTicks = 100

// pageSize is the unit of resident pages in /proc/PID/statm.
var pageSize = int64(os.Getpagesize())

// readProc reads a process's resident memory (/proc/PID/statm), CPU time
// (utime and stime in /proc/PID/stat) and open file descriptors (/proc/PID/fd).
func readProc(pid int) (procSample, error) {
	s := procSample{read: time.Now()}
	statm, err := os.ReadFile(fmt.Sprintf("/proc/%d/statm", pid))
	if err != nil {
		return s, err
	}
	f := bytes.Fields(statm)
	if len(f) < 2 {
		return s, fmt.Errorf("/proc/%d/statm: %q has no resident field", pid, statm)
	}
	pages, err := strconv.ParseInt(string(f[1]), 10, 64)
	if err != nil {
		return s, fmt.Errorf("/proc/%d/statm: %w", pid, err)
	}
	s.rss = pages * pageSize

	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s.read = time.Now() // the moment of the CPU time, which the figure divides by
	if err != nil {
		return s, err
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// fields are counted from the last ')'. utime and stime are fields 14, 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	rest := bytes.Fields(stat[i+1:]) // field 3 onwards
	if len(rest) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields after the command name, want at least 13", pid, len(rest))
	}
	var ticks int64
	for _, field := range rest[11:13] {
		v, err := strconv.ParseInt(string(field), 10, 64)
		if err != nil {
			return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	s.cpu = time.Duration(ticks) * time.Second / clockTicks

	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = len(fds)
	return s, nil
}
