package safe

import (
	"context"
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
	var r *Recorder // nil: Call still returns the panic
	err := r.Call("scenario produce", func() error { panic("boom") })
	var p *PanicError
	if !errors.As(err, &p) || p.Value != "boom" {
		t.Fatalf("Call = %v, want a *PanicError with boom", err)
	}
	if err := r.Call("x", func() error { return errors.New("plain") }); err == nil || err.Error() != "plain" {
		t.Fatalf("Call without panic = %v", err)
	}
}

// A nil recorder lets a panic through rather than swallow it; a context
// carries a recorder to helpers that only have the context.
func TestNilRecorderPanicsOn(t *testing.T) {
	defer func() {
		if v := recover(); v != "boom" {
			t.Fatalf("recovered %v, want the panic to go on", v)
		}
	}()
	if FromContext(context.Background()) != nil {
		t.Fatal("a bare context carries a recorder")
	}
	r := NewRecorder(nil)
	if FromContext(WithRecorder(context.Background(), r)) != r {
		t.Fatal("WithRecorder/FromContext lost the recorder")
	}
	func() {
		var nilRec *Recorder
		defer nilRec.Recover("test")
		panic("boom")
	}()
}
