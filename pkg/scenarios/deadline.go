package scenarios

// Every wait of a scenario has a deadline: these helpers bound blocking
// client calls and waits, and say why a wait ended.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
)

// within runs a blocking client call and returns its result, or ctx's error
// when ctx ends first (the call is then left to end on its own deadline).
// A panic in fn goes to the recorder ctx carries (safe.WithRecorder), which
// ends the run as an internal error.
func within[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	safe.FromContext(ctx).Go("a client call", func() {
		v, err := fn()
		ch <- result{v, err}
	})
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("no answer: %s", stopped(ctx))
	}
}

// waitEnded is the cause of a context that bounds one wait inside a
// scenario (context.WithTimeoutCause); stopped says it.
type waitEnded string

func (w waitEnded) Error() string { return string(w) }

// stopped says why ctx ended: a wait's own bound (waitEnded), the scenario's
// deadline, or the run was interrupted.
func stopped(ctx context.Context) string {
	var w waitEnded
	if errors.As(context.Cause(ctx), &w) {
		return w.Error()
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "the scenario deadline passed"
	}
	return "the run was interrupted"
}

// closeWithin runs fn and waits for it at most d and no longer than ctx
// lives, so that closing a client stuck on an unanswering broker neither
// hangs the run nor stretches a scenario past its deadline; fn then ends on
// its own.
func closeWithin(ctx context.Context, d time.Duration, fn func()) {
	done := make(chan struct{})
	safe.FromContext(ctx).Go("closing a client", func() {
		defer close(done)
		fn()
	})
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stopped by %s", stopped(ctx))
	}
}
