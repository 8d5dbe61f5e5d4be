// Package term is the one place that touches os.Stdout, os.Stderr and
// terminal detection: commands write through a Terminal, and tests swap in
// buffers with Test.
package term

import (
	"bytes"
	"io"
	"os"
	"sync"

	"github.com/charmbracelet/lipgloss"
	"github.com/mattn/go-isatty"
	"github.com/muesli/termenv"
)

// Terminal holds the process's output streams and what they are connected to.
type Terminal struct {
	// Out receives machine formats and the report.
	Out io.Writer
	// ErrOut receives progress and messages meant for a person.
	ErrOut io.Writer

	mu       sync.Mutex
	outTTY   bool
	errTTY   bool
	envColor bool  // the environment allows colour (NO_COLOR unset, TERM not dumb)
	color    *bool // explicit SetColor, overrides the default
	renderer *lipgloss.Renderer
	errRend  *lipgloss.Renderer
	verbose  Verbosity
}

// Verbosity is how much a command tells on stderr besides its result.
type Verbosity int

// Verbosity levels: --quiet, the default, -v, -vv.
const (
	Quiet   Verbosity = -1
	Normal  Verbosity = 0
	Verbose Verbosity = 1
)

// System returns the Terminal of the process: os.Stdout and os.Stderr, with
// TTY detection and colour on when stdout is a terminal and NO_COLOR is unset.
func System() *Terminal {
	return &Terminal{
		Out:      os.Stdout,
		ErrOut:   os.Stderr,
		outTTY:   isTerminal(os.Stdout),
		errTTY:   isTerminal(os.Stderr),
		envColor: os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb",
	}
}

// Test returns a Terminal writing to two buffers (Out, ErrOut), not a TTY and
// without colour whatever the environment says.
func Test() (*Terminal, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	off := false
	return &Terminal{Out: out, ErrOut: errOut, color: &off}, out, errOut
}

// IsOutTTY reports whether Out is a terminal.
func (t *Terminal) IsOutTTY() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.outTTY
}

// IsErrTTY reports whether ErrOut is a terminal.
func (t *Terminal) IsErrTTY() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.errTTY
}

// SetTTY forces whether Out and ErrOut count as terminals (for tests).
func (t *Terminal) SetTTY(out, err bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outTTY, t.errTTY = out, err
	t.renderer, t.errRend = nil, nil
}

// ColorEnabled reports whether output may be coloured: as set by SetColor, or
// else when Out is a terminal and NO_COLOR is unset.
func (t *Terminal) ColorEnabled() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.colorLocked()
}

func (t *Terminal) colorLocked() bool {
	if t.color != nil {
		return *t.color
	}
	return t.outTTY && t.envColor
}

// SetColor turns colour on or off whatever the terminal and environment say
// (--no-color sets it off).
func (t *Terminal) SetColor(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.color = &on
	t.renderer, t.errRend = nil, nil
}

// SetVerbosity sets how much commands tell (--quiet, -v).
func (t *Terminal) SetVerbosity(v Verbosity) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.verbose = v
}

// Verbosity returns how much commands tell: Quiet, Normal, Verbose or more.
func (t *Terminal) Verbosity() Verbosity {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.verbose
}

// Renderer returns a lipgloss renderer bound to Out: plain text (the Ascii
// profile) when colour is off, the terminal's colour profile when it is on.
func (t *Terminal) Renderer() *lipgloss.Renderer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.renderer != nil {
		return t.renderer
	}
	t.renderer = newRenderer(t.Out, t.colorLocked())
	return t.renderer
}

// ErrRenderer is Renderer for ErrOut: coloured when ErrOut is a terminal,
// as SetColor and NO_COLOR allow.
func (t *Terminal) ErrRenderer() *lipgloss.Renderer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.errRend != nil {
		return t.errRend
	}
	on := t.errTTY && t.envColor
	if t.color != nil {
		on = *t.color
	}
	t.errRend = newRenderer(t.ErrOut, on)
	return t.errRend
}

// newRenderer returns a renderer bound to w: plain when on is false, else
// the terminal's colour profile.
func newRenderer(w io.Writer, on bool) *lipgloss.Renderer {
	if !on {
		return Plain(w)
	}
	r := lipgloss.NewRenderer(w)
	// Colour was decided by the caller; if termenv finds no colour support
	// (w is not a real terminal, colour was forced), fall back to the 16
	// ANSI colours.
	if r.ColorProfile() == termenv.Ascii {
		r.SetColorProfile(termenv.ANSI)
	}
	return r
}

// Plain returns a renderer bound to w that never writes escape codes. The
// profile is set on the renderer itself: lipgloss ignores a termenv.WithProfile
// option and detects the profile again from w, which colours a terminal.
func Plain(w io.Writer) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(w)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func isTerminal(f *os.File) bool {
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}
