//go:build unix

package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func hooked(t *testing.T, cmds map[Op]string, timeout time.Duration) *Hooked {
	t.Helper()
	h, err := AttachWithHooks([]string{"127.0.0.1:1"}, Hooks{Commands: cmds, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHookTemplates: a hook sees the node's id, address, host and port, as
// template fields and as environment variables.
func TestHookTemplates(t *testing.T) {
	h := hooked(t, map[Op]string{
		OpKill: `echo {{.Op}} id={{.ID}} host={{.Host}} port={{.Port}} addr={{.Addr}} env=$CHRONIK_E2E_NODE_ID,$CHRONIK_E2E_NODE_ADDR,$CHRONIK_E2E_OP`,
	}, 10*time.Second)
	out, err := h.Do(context.Background(), OpKill, Node{ID: 2, Addr: "broker-2.example:9093"})
	if err != nil {
		t.Fatal(err)
	}
	want := "kill id=2 host=broker-2.example port=9093 addr=broker-2.example:9093 env=2,broker-2.example:9093,kill"
	if out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if !h.Supports(OpKill) || h.Supports(OpPause) {
		t.Errorf("Supports: kill %v, pause %v; want true, false", h.Supports(OpKill), h.Supports(OpPause))
	}
	if _, err := h.Do(context.Background(), OpPause, Node{ID: 2}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("pause without a hook: %v, want ErrUnsupported", err)
	}
}

// TestHookBadTemplate: a template naming an unknown field fails before anything runs.
func TestHookBadTemplate(t *testing.T) {
	_, err := AttachWithHooks(nil, Hooks{Commands: map[Op]string{OpStop: "ssh {{.Hostname}} systemctl stop chronik"}})
	if err == nil || !containsText(err.Error(), "stop hook") || !containsText(err.Error(), "Hostname") {
		t.Errorf("error %v, want the stop hook and the unknown field named", err)
	}
}

// TestHookFails: a hook that exits non-zero is an error with its status and output.
func TestHookFails(t *testing.T) {
	h := hooked(t, map[Op]string{OpStart: `echo "pod chronik-{{.ID}} not found" >&2; exit 3`}, 10*time.Second)
	_, err := h.Do(context.Background(), OpStart, Node{ID: 1, Addr: "a:1"})
	if err == nil || !containsText(err.Error(), "exited with status 3") || !containsText(err.Error(), "pod chronik-1 not found") {
		t.Errorf("error %v, want the status and the output", err)
	}
}

// TestHookTimeout: a hook that outlives its timeout is killed together with
// the processes it started, and Do says so.
func TestHookTimeout(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	h := hooked(t, map[Op]string{OpKill: `sleep 60 & echo $! > ` + pidFile + `; wait`}, 300*time.Millisecond)
	start := time.Now()
	_, err := h.Do(context.Background(), OpKill, Node{ID: 0, Addr: "a:1"})
	if err == nil || !containsText(err.Error(), "did not finish within 300ms") {
		t.Fatalf("error %v, want the timeout named", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Do returned after %s: the timeout did not stop the hook", took)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the hook's child %d outlived it", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHookLeavesNothing: a hook that exits at once but leaves a process
// behind (a background command, its output away from ours) does not leave
// it running: nothing a hook started outlives it, whether it timed out or not.
func TestHookLeavesNothing(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	h := hooked(t, map[Op]string{OpStart: `sleep 60 >/dev/null 2>&1 & echo $! > ` + pidFile + `; echo started`}, 10*time.Second)
	out, err := h.Do(context.Background(), OpStart, Node{ID: 0, Addr: "a:1"})
	if err != nil || out != "started" {
		t.Fatalf("start: %q, %v", out, err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the hook's background process %d outlived it", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
