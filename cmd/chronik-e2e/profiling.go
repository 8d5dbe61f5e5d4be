package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
)

// ProfilingOptions are --cpuprofile and --memprofile: Go profiles of the
// runner itself, to see where its time and memory go (go tool pprof FILE).
type ProfilingOptions struct {
	CPUProfile string // --cpuprofile: write a CPU profile of the run to this file
	MemProfile string // --memprofile: write a heap profile at the end of the run to this file
}

// addProfilingFlags registers --cpuprofile and --memprofile.
func addProfilingFlags(cmd *cobra.Command, o *ProfilingOptions) {
	f := cmd.Flags()
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the runner to this file (read it with go tool pprof)")
	f.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile of the runner at the end of the run to this file")
}

// startProfiling creates the profile files, so that a path that cannot be
// written fails as bad usage before anything runs, and starts the CPU
// profile. The returned stop ends the CPU profile and writes the heap
// profile; a problem doing so is reported on errOut, as the run's verdict
// stands regardless.
func startProfiling(o ProfilingOptions, errOut io.Writer) (stop func(), err error) {
	var cpu, mem *os.File
	closeAll := func() {
		for _, f := range []*os.File{cpu, mem} {
			if f != nil {
				_ = f.Close()
			}
		}
	}
	if o.CPUProfile != "" {
		if cpu, err = os.Create(o.CPUProfile); err != nil {
			return nil, exitcode.Usagef("--cpuprofile: %v", err)
		}
	}
	if o.MemProfile != "" {
		if mem, err = os.Create(o.MemProfile); err != nil {
			closeAll()
			return nil, exitcode.Usagef("--memprofile: %v", err)
		}
	}
	if cpu != nil {
		if err := pprof.StartCPUProfile(cpu); err != nil {
			closeAll()
			return nil, exitcode.Usagef("--cpuprofile: %v", err)
		}
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				fmt.Fprintf(errOut, "chronik-e2e: --cpuprofile %s: %v\n", o.CPUProfile, err)
			}
		}
		if mem != nil {
			runtime.GC() // the heap profile shows live memory as of the last collection
			err := pprof.WriteHeapProfile(mem)
			if cerr := mem.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				fmt.Fprintf(errOut, "chronik-e2e: --memprofile %s: %v\n", o.MemProfile, err)
			}
		}
	}, nil
}
