//go:build linux || darwin || freebsd || netbsd || openbsd

package term

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/creack/pty"
)

// On a real terminal in a colour-capable environment, colour off means no
// escape codes from either renderer: lipgloss must not detect colour again
// from the terminal (the --no-color bug), and colour on does colour.
func TestColorOffOnATerminal(t *testing.T) {
	t.Setenv("TERM", "xterm-256color")
	t.Setenv("COLORTERM", "truecolor")
	t.Setenv("NO_COLOR", "")
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("this system gives no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _, _ = ptmx.Close(), tty.Close() })

	tm := &Terminal{Out: tty, ErrOut: tty, outTTY: true, errTTY: true, envColor: true}
	if got := tm.Renderer().NewStyle().Bold(true).Render("x"); !strings.Contains(got, "\x1b[") {
		t.Fatalf("colour on, on a terminal: %q has no escape code", got)
	}
	tm.SetColor(false)
	for name, r := range map[string]func() string{
		"Renderer":    func() string { return tm.Renderer().NewStyle().Bold(true).Foreground(lipgloss.Color("1")).Render("x") },
		"ErrRenderer": func() string { return tm.ErrRenderer().NewStyle().Faint(true).Render("x") },
		"Plain":       func() string { return Plain(tty).NewStyle().Underline(true).Render("x") },
	} {
		if got := r(); got != "x" {
			t.Errorf("%s with colour off, on a terminal: %q, want plain x", name, got)
		}
	}
}
