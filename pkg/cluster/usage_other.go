//go:build !linux

package cluster

import (
	"errors"
	"runtime"
)

// usageUnavailable says why nodes' resource use is not sampled here.
const usageUnavailable = "not available on " + runtime.GOOS + ": node resources are read from /proc (Linux)"

func readProc(int) (procSample, error) { return procSample{}, errors.New(usageUnavailable) }
