package term

import (
	"strings"
	"testing"

	"github.com/muesli/termenv"
)

func TestTestTerminal(t *testing.T) {
	tm, out, errOut := Test()
	if tm.IsOutTTY() || tm.IsErrTTY() {
		t.Error("Test terminal claims to be a TTY")
	}
	if tm.ColorEnabled() {
		t.Error("Test terminal has colour on")
	}
	if p := tm.Renderer().ColorProfile(); p != termenv.Ascii {
		t.Errorf("renderer profile = %v, want Ascii", p)
	}
	if _, err := tm.Out.Write([]byte("report")); err != nil {
		t.Fatal(err)
	}
	if _, err := tm.ErrOut.Write([]byte("progress")); err != nil {
		t.Fatal(err)
	}
	if out.String() != "report" || errOut.String() != "progress" {
		t.Errorf("out = %q, errOut = %q", out, errOut)
	}
}

func TestSetTTY(t *testing.T) {
	tm, _, _ := Test()
	tm.SetTTY(true, false)
	if !tm.IsOutTTY() || tm.IsErrTTY() {
		t.Errorf("after SetTTY(true, false): out %v err %v", tm.IsOutTTY(), tm.IsErrTTY())
	}
	if tm.ColorEnabled() {
		t.Error("SetTTY turned colour on in a Test terminal")
	}
}

func TestColor(t *testing.T) {
	tests := []struct {
		name     string
		outTTY   bool
		envColor bool
		set      *bool
		want     bool
	}{
		{"tty", true, true, nil, true},
		{"not a tty", false, true, nil, false},
		{"NO_COLOR", true, false, nil, false},
		{"--no-color", true, true, ptr(false), false},
		{"forced on", false, false, ptr(true), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := &Terminal{Out: &strings.Builder{}, outTTY: tt.outTTY, envColor: tt.envColor}
			if tt.set != nil {
				tm.SetColor(*tt.set)
			}
			if got := tm.ColorEnabled(); got != tt.want {
				t.Errorf("ColorEnabled() = %v, want %v", got, tt.want)
			}
			p := tm.Renderer().ColorProfile()
			if tt.want && p == termenv.Ascii {
				t.Error("colour on but renderer profile is Ascii")
			}
			if !tt.want && p != termenv.Ascii {
				t.Errorf("colour off but renderer profile is %v", p)
			}
			styled := tm.Renderer().NewStyle().Bold(true).Render("x")
			if hasANSI := strings.Contains(styled, "\x1b["); hasANSI != tt.want {
				t.Errorf("Render(bold x) = %q, want escape codes: %v", styled, tt.want)
			}
		})
	}
}

func TestSystemHonoursNoColor(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	tm := System()
	tm.SetTTY(true, true)
	if tm.ColorEnabled() {
		t.Error("colour on with NO_COLOR=1")
	}
	if tm.Out == nil || tm.ErrOut == nil {
		t.Error("System terminal has a nil writer")
	}
}

func TestSystemColorOnTTY(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm-256color")
	tm := System()
	tm.SetTTY(true, true)
	if !tm.ColorEnabled() {
		t.Error("colour off on a TTY without NO_COLOR")
	}
	tm.SetColor(false)
	if tm.ColorEnabled() || tm.Renderer().ColorProfile() != termenv.Ascii {
		t.Error("SetColor(false) left colour on")
	}
}

func ptr(b bool) *bool { return &b }
