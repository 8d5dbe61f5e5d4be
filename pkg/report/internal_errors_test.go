package report

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

// panicStack returns the stack debug.Stack gives in a deferred recover of
// a panic in panicsHere, as the runner records it.
func panicStack() (stack string) {
	defer func() {
		_ = recover()
		stack = string(debug.Stack())
	}()
	panicsHere(map[string]int(nil), 7)
	return ""
}

func panicsHere(m map[string]int, n int) { m["x"] = n }

// TestStackTop: the top of a stack starts at the function that panicked,
// without the recovery's and the runtime's frames, arguments or offsets.
func TestStackTop(t *testing.T) {
	top := StackTop(panicStack(), 2)
	if len(top) != 4 {
		t.Fatalf("StackTop = %q, want 2 frames of 2 lines", top)
	}
	if !strings.HasSuffix(top[0], "report.panicsHere(...)") || !strings.Contains(top[1], "internal_errors_test.go:") ||
		!strings.Contains(top[2], "report.panicStack") || strings.Contains(top[1], "+0x") {
		t.Errorf("StackTop = %q", top)
	}

	for _, tt := range []struct{ in, want string }{
		{"pkg.F()", "pkg.F()"},
		{"pkg.(*T).Call(0x110a4b0?, {0xd491623e5d0?, 0x6fc23ac00?}, 0x10a2968?)", "pkg.(*T).Call(...)"},
		{"created by pkg.(*R).Go in goroutine 9", "created by pkg.(*R).Go in goroutine 9"},
		{"panic({0x1, 0x2})", "panic(...)"},
	} {
		if got := withoutArgs(tt.in); got != tt.want {
			t.Errorf("withoutArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := StackTop("not a stack", 3); len(got) != 1 || got[0] != "not a stack" {
		t.Errorf("StackTop of a foreign text = %q", got)
	}
}

// TestInternalErrorRenderings: a report with an internal error is ERROR in
// its verdict and in every rendering, each naming where and the stack.
func TestInternalErrorRenderings(t *testing.T) {
	r := sample()
	r.Scenarios[1].InternalError, r.Scenarios[1].Passed = true, false
	r.Scenarios[1].Error = "internal error in reader of partition 2: boom (this is a bug in chronik-e2e)"
	r.InternalErrors = []InternalError{{Scenario: r.Scenarios[1].Name, Where: "reader of partition 2", Value: "boom", Stack: panicStack()}}
	r.Finish(r.StartedAt.Add(5e9))
	if r.Passed || r.Verdict != VerdictError {
		t.Fatalf("passed %v, verdict %q, want ERROR", r.Passed, r.Verdict)
	}

	var term, junit, md bytes.Buffer
	if err := Render(&term, r, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		out  string
		want []string
	}{
		"terminal": {term.String(), []string{"▶ produce  ERROR", "✗ ERROR  " + InternalErrorText,
			"reader of partition 2 (scenario produce): boom", "report.panicsHere(...)"}},
		"junit": {junit.String(), []string{`<error message="internal error in reader of partition 2`,
			`type="internal-error"`, "internal_errors_test.go"}},
		"markdown": {md.String(), []string{"ERROR (" + InternalErrorText + ")", "**error**",
			"### Internal errors", "internal_errors_test.go"}},
	} {
		for _, w := range tt.want {
			if !strings.Contains(tt.out, w) {
				t.Errorf("%s lacks %q:\n%s", name, w, tt.out)
			}
		}
	}
	if strings.Contains(term.String(), "✗ FAILED") {
		t.Errorf("terminal report says FAILED:\n%s", term.String())
	}
}
