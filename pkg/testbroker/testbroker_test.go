package testbroker

import (
	"bytes"
	"io"
	"net/http"
	"slices"
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

// The peer flags: each needs proxy mode; --peers takes a
// list with a trailing comma and skips the node's own id.
func TestParseMemberFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--raft-listen", "127.0.0.1:2"}, "--raft-listen needs --backend"},
		{[]string{"--backend", "http://x", "--peers", "2=127.0.0.1:3"}, "--peers needs --raft-listen"},
		{[]string{"--backend", "http://x", "--raft-listen", "127.0.0.1:2", "--peers", "two=127.0.0.1:3"}, `--peers entry "two=127.0.0.1:3": want ID=HOST:PORT`},
		{[]string{"--backend", "http://x", "--raft-listen", "127.0.0.1:2", "--heartbeat", "0s"}, "--heartbeat 0s: want a positive duration"},
	} {
		if _, err := parseFlags(append([]string{"--listen", "127.0.0.1:1"}, tc.args...), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
	c, err := parseFlags([]string{"--listen", "127.0.0.1:1", "--id", "2", "--backend", "http://x", "--raft-listen", "127.0.0.1:2",
		"--peers", "1=127.0.0.1:11,2=127.0.0.1:12,3=127.0.0.1:13,", "--peers", "4=127.0.0.1:14"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if want := []peer{{1, "127.0.0.1:11"}, {3, "127.0.0.1:13"}, {4, "127.0.0.1:14"}}; !slices.Equal(c.peers, want) {
		t.Errorf("peers %v, want %v", c.peers, want)
	}
}

// A proxy node with --advertise is advertised there, not at --listen.
func TestProxyAdvertises(t *testing.T) {
	b := startBackend(t, 1)
	c, err := parseFlags([]string{"--listen", freeAddr(t), "--advertise", "127.0.0.1:40009", "--backend", b.URL(), "--index", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	n, err := serve(c, &logger{w: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer n.stop(false)
	if got := b.Embedded().Kfake().ListenAddrs(); !slices.Equal(got, []string{"127.0.0.1:40009"}) {
		t.Errorf("advertised %v, want [127.0.0.1:40009]", got)
	}
}
