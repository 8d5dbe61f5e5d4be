package safe

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestGoRecordsPanic(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	var got *PanicError
	r := NewRecorder(func(p *PanicError) { got = p; wg.Done() })
	r.Go("reader of partition 3", func() { var m map[string]int; m["x"] = 1 })
	wg.Wait()
	if got == nil || got.Where != "reader of partition 3" || !strings.Contains(got.Stack, "safe_test.go") {
		t.Fatalf("recorded %+v", got)
	}
	if len(r.Panics()) != 1 {
		t.Fatalf("Panics() = %d, want 1", len(r.Panics()))
	}
	if !strings.Contains(got.Error(), "bug in chronik-e2e") {
		t.Errorf("Error() = %q", got.Error())
	}
}

func TestCallReturnsPanicAsError(t *testing.T) {
	var r *Recorder // nil still recovers
	err := r.Call("scenario produce", func() error { panic("boom") })
	var p *PanicError
	if !errors.As(err, &p) || p.Value != "boom" {
		t.Fatalf("Call = %v, want a *PanicError with boom", err)
	}
	if err := r.Call("x", func() error { return errors.New("plain") }); err == nil || err.Error() != "plain" {
		t.Fatalf("Call without panic = %v", err)
	}
}
