// Package exitcode maps the runner's errors to process exit codes.
package exitcode

import (
	"errors"
	"fmt"
)

// Exit codes of chronik-e2e.
const (
	OK          = 0 // every scenario passed
	Failed      = 1 // a scenario failed
	Usage       = 2 // bad usage or bad profile
	Unreachable = 3 // the cluster could not be started or reached
	Thresholds  = 4 // every check passed, but a threshold or the baseline comparison failed
	Internal    = 5 // internal error: this is a bug in chronik-e2e (a recovered panic)
)

// Error is an error that carries the exit code it should end the process with,
// and an optional hint that says what to do about it.
type Error struct {
	Code int
	Err  error
	Hint string
}

// Error returns the wrapped error's message; the hint is not part of it.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// UsageError wraps err as bad usage or a bad profile (exit 2).
func UsageError(err error) error { return &Error{Code: Usage, Err: err} }

// Usagef formats a bad-usage error (exit 2).
func Usagef(format string, args ...any) error {
	return &Error{Code: Usage, Err: fmt.Errorf(format, args...)}
}

// ClusterError wraps err as a cluster that could not be started or reached (exit 3).
func ClusterError(err error, hint string) error {
	return &Error{Code: Unreachable, Err: err, Hint: hint}
}

// InternalError wraps err, a bug in chronik-e2e such as a recovered panic, as exit 5.
func InternalError(err error, hint string) error {
	return &Error{Code: Internal, Err: err, Hint: hint}
}

// Code returns the exit code for err: 0 for nil, the carried code for an
// *Error, and 1 for anything else.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Failed
}

// Hint returns the hint carried by err, if any.
func Hint(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}
