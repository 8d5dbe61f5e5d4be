package report

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// InternalErrorText is what every report says of an internal error.
const InternalErrorText = "internal error: this is a bug in chronik-e2e"

// InternalError is a panic recovered in chronik-e2e's own code: a bug to
// report, not a finding about the cluster.
type InternalError struct {
	// Scenario is the scenario that was running, or "" outside any.
	Scenario string `json:"scenario,omitempty"`
	// Where is the job of the code that panicked, e.g. "reader of partition 3".
	Where string `json:"where"`
	// Value is what it panicked with, as text.
	Value string `json:"value"`
	// Stack is the full stack of the goroutine that panicked.
	Stack string `json:"stack"`
}

// Title is "WHERE (scenario S): VALUE".
func (e InternalError) Title() string {
	where := e.Where
	if e.Scenario != "" && !strings.Contains(where, e.Scenario) {
		where += " (scenario " + e.Scenario + ")"
	}
	return fmt.Sprintf("%s: %s", where, e.Value)
}

// Errored reports whether an internal error stopped the run (verdict ERROR).
func (r *Report) Errored() bool { return len(r.InternalErrors) > 0 }

// Errored reports whether an internal error stopped one of the runs.
func (r *Repeat) Errored() bool {
	for _, run := range r.Runs {
		if run.Errored() {
			return true
		}
	}
	return false
}

// stackOffset is the "+0x1f" after a frame's file and line.
var stackOffset = regexp.MustCompile(` \+0x[0-9a-f]+$`)

// StackTop returns the first frames (two lines each: function, then file and
// line) of a goroutine stack as runtime/debug.Stack writes it, starting at
// the function that panicked: the frames of the recovery and of the runtime's
// panic are left out.
func StackTop(stack string, frames int) []string {
	lines := strings.Split(strings.TrimRight(stack, "\n"), "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "goroutine ") {
		lines = lines[1:]
	}
	// The frames above the last call of panic are the recovery's.
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "panic(") {
			lines = lines[min(i+2, len(lines)):]
			break
		}
	}
	var out []string
	for i, l := range lines {
		if i >= 2*frames {
			break
		}
		if strings.HasPrefix(l, "\t") { // file:line +offset
			out = append(out, stackOffset.ReplaceAllString(strings.TrimSpace(l), ""))
		} else {
			out = append(out, withoutArgs(l))
		}
	}
	return out
}

// withoutArgs shortens a stack's function line "pkg.(*T).F(0x1, {0x2, 0x3})"
// to "pkg.(*T).F(...)": the argument words mean nothing to a reader.
func withoutArgs(fn string) string {
	if !strings.HasSuffix(fn, ")") {
		return fn
	}
	depth := 0
	for i := len(fn) - 1; i >= 0; i-- {
		switch fn[i] {
		case ')', '}':
			depth++
		case '(', '{':
			depth--
		}
		if depth == 0 && i < len(fn)-2 {
			return fn[:i] + "(...)"
		}
		if depth == 0 {
			return fn // no arguments
		}
	}
	return fn
}

// internalErrors writes the section of the terminal report that names each
// internal error and the top of its stack; the JSON report has the full stack.
func (p *printer) internalErrors(r *Report) {
	if !r.Errored() {
		return
	}
	p.section("Internal errors")
	p.wrapped("  ", "", "This is a bug in chronik-e2e: please report it with the full stacks, which the JSON report holds.", lipgloss.Style{})
	for _, e := range r.InternalErrors {
		p.wrapped("  ", p.st.fail.Render("✗ "), e.Title(), p.st.bad)
		for i, l := range StackTop(e.Stack, 5) {
			indent := "      "
			if i%2 == 1 {
				indent = "          "
			}
			p.line(p.st.faint.Render(indent + l))
		}
	}
}
