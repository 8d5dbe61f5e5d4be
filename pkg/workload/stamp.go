package workload

import "time"

// Stamp is a moment on this process's monotonic clock in microseconds,
// modulo 2^32, so that a payload carries its send time in four bytes. The
// difference of two stamps is right for spans under 71 minutes, far beyond
// any latency the runner waits for; only the process that made a stamp can
// read it.
type Stamp uint32

// epoch is the zero of every Stamp of this process.
var epoch = time.Now()

// StampOf returns the stamp of t.
func StampOf(t time.Time) Stamp { return Stamp(uint64(t.Sub(epoch) / time.Microsecond)) }

// Since returns how long before t the stamp s was made.
func (s Stamp) Since(t time.Time) time.Duration {
	return time.Duration(uint32(StampOf(t)-s)) * time.Microsecond
}
