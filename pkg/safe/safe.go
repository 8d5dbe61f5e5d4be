// Package safe runs the runner's goroutines so that a panic in one of them
// becomes a recorded internal error, not a crashed process: a release gate
// must end with a report and its own exit code even when chronik-e2e has a bug.
package safe

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// PanicError is a recovered panic: what panicked, where, and the stack.
type PanicError struct {
	Where string // the goroutine's job, e.g. "reader of partition 3"
	Value any
	Stack string
}

// Error returns "internal error in WHERE: VALUE".
func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error in %s: %v (this is a bug in chronik-e2e)", e.Where, e.Value)
}

// Recorder collects the panics of one run's goroutines. The zero value is
// ready to use. A nil *Recorder has nowhere to record: its Go and Recover
// let the panic crash the process as Go would (never swallowed silently);
// its Call still returns the panic as an error.
type Recorder struct {
	mu     sync.Mutex
	panics []*PanicError
	notify func(*PanicError)
}

// NewRecorder returns a recorder that calls notify (if not nil) on every
// panic it records, e.g. to stop the run.
func NewRecorder(notify func(*PanicError)) *Recorder { return &Recorder{notify: notify} }

// Panics returns the panics recorded so far, in order.
func (r *Recorder) Panics() []*PanicError {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*PanicError(nil), r.panics...)
}

// Record adds p.
func (r *Recorder) Record(p *PanicError) {
	if r == nil || p == nil {
		return
	}
	r.mu.Lock()
	r.panics = append(r.panics, p)
	notify := r.notify
	r.mu.Unlock()
	if notify != nil {
		notify(p)
	}
}

// Go runs fn in a new goroutine; a panic in it is recorded in r.
func (r *Recorder) Go(where string, fn func()) {
	go func() {
		defer r.Recover(where)
		fn()
	}()
}

// Recover, deferred, turns a panic of the calling goroutine into a record in
// r; with a nil r it panics on.
func (r *Recorder) Recover(where string) {
	if v := recover(); v != nil {
		if r == nil {
			panic(v)
		}
		r.Record(&PanicError{Where: where, Value: v, Stack: string(debug.Stack())})
	}
}

type recorderKey struct{}

// WithRecorder returns ctx carrying r, for helpers that start goroutines
// with nothing but a context (FromContext).
func WithRecorder(ctx context.Context, r *Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// FromContext returns the recorder ctx carries, or nil.
func FromContext(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}

// Call runs fn and returns its panic, if any, as a *PanicError (also recorded in r).
func (r *Recorder) Call(where string, fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			p := &PanicError{Where: where, Value: v, Stack: string(debug.Stack())}
			r.Record(p)
			err = p
		}
	}()
	return fn()
}
