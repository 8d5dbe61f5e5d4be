//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/creack/pty"
)

// ptyRun runs chronik-e2e with args on a pseudo-terminal (stdin, stdout and
// stderr alike) in a colour-capable environment plus env, and returns what
// the terminal showed, with the terminal's CRLF turned back into LF.
func ptyRun(t *testing.T, env []string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("chronik-e2e") // the test binary, placed on PATH by testscript.Main
	if err != nil {
		t.Fatal(err)
	}
	if p, tty, err := pty.Open(); err != nil {
		t.Skipf("this system gives no pseudo-terminal: %v", err)
	} else {
		_, _ = p.Close(), tty.Close()
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color", "COLORTERM=truecolor", "NO_COLOR=", "CLICOLOR_FORCE=", "TZ=UTC")
	cmd.Env = append(cmd.Env, env...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 60, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	var out bytes.Buffer
	copied := make(chan error, 1)
	go func() { _, err := io.Copy(&out, f); copied <- err }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chronik-e2e %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("chronik-e2e %s did not finish", strings.Join(args, " "))
	}
	// Reading the pty after the process is gone ends with EIO on Linux.
	if err := <-copied; err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatal(err)
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n")
}

// On a terminal, the report is coloured unless --no-color or NO_COLOR says
// otherwise; then it is exactly the plain report of the golden file. (The
// colour bug this guards against: lipgloss ignored the plain profile and
// detected colour again from the terminal.)
func TestNoColorOnTerminal(t *testing.T) {
	report := filepath.Join("testdata", "pty", "report.json")
	golden := filepath.Join("testdata", "pty", "report.golden")

	colored := ptyRun(t, nil, "report", "show", report)
	if !strings.Contains(colored, "\x1b[") {
		t.Fatalf("without --no-color the report on a terminal has no escape codes:\n%s", colored)
	}

	for name, run := range map[string]func() string{
		"--no-color":       func() string { return ptyRun(t, nil, "report", "show", report, "--no-color") },
		"--no-color first": func() string { return ptyRun(t, nil, "--no-color", "report", "show", report) },
		"NO_COLOR=1":       func() string { return ptyRun(t, []string{"NO_COLOR=1"}, "report", "show", report) },
	} {
		t.Run(name, func(t *testing.T) {
			plain := run()
			if os.Getenv("UPDATE_SCRIPTS") != "" && name == "--no-color" {
				if err := os.WriteFile(golden, []byte(plain), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if plain != string(want) {
				t.Errorf("%s on a terminal differs from the golden %s: %s", name, golden, firstDiff(plain, string(want)))
			}
			if ansi.Strip(colored) != plain {
				t.Errorf("the coloured report, stripped of escape codes, differs from the plain one")
			}
		})
	}
}

// A run on a terminal with --no-color writes no escape code anywhere: not in
// the report, the live verdict lines or the status lines on stderr.
func TestNoColorRunOnTerminal(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(prof, []byte("name: small\nworkload:\n  messages: 100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := ptyRun(t, nil, "run", "--profile", prof, "--no-color")
	if !strings.Contains(out, "✓ PASSED") {
		t.Fatalf("no verdict:\n%s", out)
	}
	// The progress bars clear their line with \r, never with escape codes.
	for i, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "\x1b[3") || strings.Contains(l, "\x1b[1") || strings.Contains(l, "\x1b[2m") {
			t.Errorf("line %d has a colour escape code: %q", i+1, l)
		}
	}
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is\n%q\nnot\n%q", i+1, gl, wl)
		}
	}
	return "they differ in length"
}
