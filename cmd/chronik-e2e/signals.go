package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// stopSignals are the signals that end a run the same way: SIGINT (Ctrl-C),
// SIGTERM (CI cancelling a job), SIGHUP (the terminal closed, SSH dropped)
// and SIGQUIT (Ctrl-\). Each stops the nodes, renders and writes the report
// marked INTERRUPTED, removes temporary data and exits with 128+signal.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// signals catches the stop signals for the life of the process.
type signals struct {
	got  atomic.Value // the first stop signal, a syscall.Signal
	stop func()
}

// catchSignals returns a context that the first stop signal cancels, its
// cause naming the signal. Later stop signals are caught and ignored, so
// that the run finishes stopping what it started. SIGPIPE is caught too: a
// reader of stdout that went away (a pipe into a closed terminal) then
// fails the write instead of killing the runner before it cleans up. A
// caught signal is reset to its default in the processes the runner starts.
func catchSignals(parent context.Context) (context.Context, *signals) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, stopSignals...)
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	done := make(chan struct{})
	s := &signals{}
	go func() {
		for {
			select {
			case sig := <-ch:
				if ss, ok := sig.(syscall.Signal); ok && s.got.CompareAndSwap(nil, ss) {
					cancel(fmt.Errorf("interrupted by %s", signalName(ss)))
				}
			case <-pipe:
			case <-done:
				return
			}
		}
	}()
	s.stop = func() {
		signal.Stop(ch)
		signal.Stop(pipe)
		close(done)
		cancel(nil)
	}
	return ctx, s
}

// received returns the first stop signal caught, and whether there was one.
func (s *signals) received() (syscall.Signal, bool) {
	sig, ok := s.got.Load().(syscall.Signal)
	return sig, ok
}

// exitCode is the exit status of a process that a signal ended: 128+signal.
func exitCode(sig syscall.Signal) int { return 128 + int(sig) }

// signalName names sig as people write it: SIGINT, SIGHUP.
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return sig.String()
}

// interruptedBeforeReady is the error of `cluster up` stopped by a signal
// before its cluster was ready: no bootstrap line was printed, so a script
// waiting for one must not take the exit for a cluster that ran and stopped.
func interruptedBeforeReady(ctx context.Context, doing string) error {
	cause := context.Cause(ctx)
	if cause == nil || cause == context.Canceled {
		cause = ctx.Err()
	}
	return fmt.Errorf("%v %s: the cluster never became ready and is stopped", cause, doing)
}
