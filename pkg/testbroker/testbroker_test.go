package testbroker

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	if _, err := parseFlags([]string{"--id", "2"}, io.Discard); err == nil || !strings.Contains(err.Error(), "--listen is required") {
		t.Errorf("no --listen: %v", err)
	}
	if _, err := parseFlags([]string{"--listen", "127.0.0.1:1", "extra"}, io.Discard); err == nil || !strings.Contains(err.Error(), `unexpected arguments ["extra"]`) {
		t.Errorf("extra argument: %v", err)
	}
	c, err := parseFlags([]string{"--listen", "127.0.0.1:1", "--log", "a", "--log", "b", "--ready-after", "2s", "--ignore-term"}, io.Discard)
	if err != nil || len(c.logs) != 2 || c.readyAfter.String() != "2s" || !c.ignoreTerm {
		t.Errorf("parseFlags = %+v, %v", c, err)
	}
}

// A node that fails at start says why and exits 1 without listening.
func TestMainFailStart(t *testing.T) {
	var out bytes.Buffer
	if code := Main([]string{"--listen", "127.0.0.1:1", "--fail-start", "no disk"}, &out, io.Discard); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), "ERROR chronik_e2e::testbroker: no disk") {
		t.Errorf("output %q", out.String())
	}
}

// A registration makes the broker advertise the node's address in place of
// its own, and answers with the broker's own address to forward to.
func TestBackendRegister(t *testing.T) {
	b := startBackend(t, 2)
	own := b.Embedded().Bootstrap()
	target, _ := registerNode(t, b, 1, "127.0.0.1:40002")
	if target != own[1] {
		t.Errorf("register answered %q, want broker 1's address %s", target, own[1])
	}
	if got := b.Embedded().Kfake().ListenAddrs(); got[0] != own[0] || got[1] != "127.0.0.1:40002" {
		t.Errorf("advertised %v, want [%s 127.0.0.1:40002]", got, own[0])
	}
	post := func(query string) (int, string) { return postBackend(t, b, "/register?"+query) }
	if code, body := post("index=2&addr=127.0.0.1:1"); code != http.StatusBadRequest || !strings.Contains(body, "want 0..1") {
		t.Errorf("bad index = %d %q", code, body)
	}
	if code, _ := post("index=0&addr=nowhere"); code != http.StatusBadRequest {
		t.Errorf("bad addr = %d", code)
	}
}
