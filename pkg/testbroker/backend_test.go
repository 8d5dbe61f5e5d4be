package testbroker

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

// bound is how long a wait of these tests may take before the test calls it hung.
const bound = 30 * time.Second

// startBackend starts a backend of n brokers, closed with the test.
func startBackend(t *testing.T, n int) *Backend {
	t.Helper()
	b, err := StartBackend(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close the backend: %v", err)
		}
	})
	return b
}

// postBackend posts to path (with its query) on b and returns the status and
// the trimmed body of the answer.
func postBackend(t *testing.T, b *Backend, path string) (int, string) {
	t.Helper()
	resp, err := http.Post(b.URL()+path, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

// registerNode registers a node at addr for broker i as a proxy does, and
// returns the broker's address and how to end the registration (the
// node's death); the registration ends with the test.
func registerNode(t *testing.T, b *Backend, i int, addr string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	q := url.Values{"index": {strconv.Itoa(i)}, "addr": {addr}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.URL()+"/register?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("register broker %d: %v", i, err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("register broker %d: %s: %s", i, resp.Status, body)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		t.Fatalf("register broker %d: %v", i, err)
	}
	var once sync.Once
	end := func() { once.Do(func() { cancel(); resp.Body.Close() }) }
	t.Cleanup(end)
	return strings.TrimSpace(line), end
}

// waitEvent waits until the backend has recorded an event containing want.
func waitEvent(t *testing.T, b *Backend, want string) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if slices.ContainsFunc(b.Events(), func(e string) bool { return strings.Contains(e, want) }) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no backend event %q within %s; events:\n%s", want, bound, strings.Join(b.Events(), "\n"))
}

// A node's registration ending is its death: its broker is killed and
// leaves the metadata. When the node registers again, the broker starts
// again at the node's address; the hooks run around each operation.
func TestBackendKillsBrokerWhenNodeGoes(t *testing.T) {
	b := startBackend(t, 3)
	var mu sync.Mutex
	var ops []string
	b.OnNodeOp(func(op cluster.Op, id int32) {
		mu.Lock()
		defer mu.Unlock()
		ops = append(ops, "before "+string(op)+" "+strconv.Itoa(int(id)))
	}, func(op cluster.Op, id int32) {
		mu.Lock()
		defer mu.Unlock()
		ops = append(ops, "after "+string(op)+" "+strconv.Itoa(int(id)))
	})
	addrs := []string{"127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003"}
	ends := make([]func(), 3)
	for i, a := range addrs {
		_, ends[i] = registerNode(t, b, i, a)
	}
	ends[0]()
	waitEvent(t, b, "node at 127.0.0.1:40001 went away: kill broker 0: removed node 0")
	if got := b.Embedded().Kfake().ListenAddrs(); slices.Contains(got, addrs[0]) || len(got) != 2 {
		t.Errorf("brokers %v after the kill, want node 0 gone", got)
	}
	registerNode(t, b, 0, "127.0.0.1:40004") // restarted, elsewhere
	waitEvent(t, b, "node at 127.0.0.1:40004 registered: start broker 0: added node 0 back")
	if got := b.Embedded().Kfake().ListenAddrs(); !slices.Contains(got, "127.0.0.1:40004") || len(got) != 3 {
		t.Errorf("brokers %v after the start, want node 0 at its new address", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"before kill 0", "after kill 0", "before start 0", "after start 0"}; !slices.Equal(ops, want) {
		t.Errorf("hooks ran %q, want %q", ops, want)
	}
}

// A node that leaves on SIGTERM stops its broker with a controlled
// shutdown; its registration ending then kills nothing more.
func TestBackendLeaveStopsBroker(t *testing.T) {
	b := startBackend(t, 3)
	var end func()
	for i := range 3 {
		_, e := registerNode(t, b, i, "127.0.0.1:4000"+strconv.Itoa(i+1))
		if i == 1 {
			end = e
		}
	}
	leave := func(addr string) (int, string) { return postBackend(t, b, "/leave?index=1&addr="+addr) }
	if code, body := leave("127.0.0.1:49999"); code != http.StatusConflict || !strings.Contains(body, "not registered to a node at 127.0.0.1:49999") {
		t.Errorf("leave of a stranger = %d %q", code, body)
	}
	if code, body := leave("127.0.0.1:40002"); code != http.StatusOK || !strings.Contains(body, "broker 1 stopped: moved the leadership") {
		t.Errorf("leave = %d %q", code, body)
	}
	end()
	registerNode(t, b, 1, "127.0.0.1:40002")
	waitEvent(t, b, "start broker 1")
	for _, e := range b.Events() {
		if strings.Contains(e, "kill") {
			t.Errorf("event %q: a node that left is not killed", e)
		}
	}
}

// A node registering for a broker whose previous node is still connected
// waits for it to go; the kill comes before the start.
func TestBackendRegisterWaitsForPreviousNode(t *testing.T) {
	b := startBackend(t, 2)
	_, end := registerNode(t, b, 0, "127.0.0.1:40001")
	registerNode(t, b, 1, "127.0.0.1:40002")
	go func() {
		time.Sleep(50 * time.Millisecond)
		end()
	}()
	registerNode(t, b, 0, "127.0.0.1:40003")
	events := strings.Join(b.Events(), "\n")
	kill, start := strings.Index(events, "kill broker 0"), strings.Index(events, "start broker 0")
	if kill < 0 || start < kill {
		t.Errorf("events:\n%s\nwant the kill of broker 0, then its start", events)
	}
}

// Killing the node of the last broker up shuts the cluster down with its
// data on disk; the first node back restarts it.
func TestBackendAllNodesGone(t *testing.T) {
	b := startBackend(t, 2)
	_, end0 := registerNode(t, b, 0, "127.0.0.1:40001")
	_, end1 := registerNode(t, b, 1, "127.0.0.1:40002")
	end0()
	waitEvent(t, b, "kill broker 0")
	end1()
	waitEvent(t, b, "kill broker 1: node 1 was the last node up")
	if b.Embedded().Kfake() != nil {
		t.Errorf("the cluster still runs with every node gone")
	}
	registerNode(t, b, 1, "127.0.0.1:40002")
	waitEvent(t, b, "start broker 1: every node was down: the embedded cluster restarted")
	if got := b.Embedded().Kfake().ListenAddrs(); !slices.Equal(got, []string{"127.0.0.1:40002"}) {
		t.Errorf("brokers %v, want only broker 1 at its node's address", got)
	}
}

// A proxy node forwards to its broker; when its backend goes away, it says
// so and exits with status 1 rather than serve nothing.
func TestProxyExitsWithoutBackend(t *testing.T) {
	b, err := StartBackend(1)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var out syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- Main([]string{"--listen", addr, "--id", "7", "--backend", b.URL(), "--index", "0"}, &out, io.Discard)
	}()
	deadline := time.Now().Add(bound)
	for !strings.Contains(out.String(), "serving Kafka on "+addr) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := b.Embedded().Kfake().ListenAddrs(); !slices.Equal(got, []string{addr}) {
		t.Errorf("advertised %v, want the node's %s", got, addr)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 1 || !strings.Contains(out.String(), "ERROR chronik_e2e::testbroker: node 7 lost its backend (the backend ended the registration): exiting") {
			t.Errorf("exit %d, output:\n%s", c, out.String())
		}
	case <-time.After(bound):
		t.Fatalf("the node still runs %s after its backend closed; output:\n%s", bound, out.String())
	}
}

// syncBuffer is a buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
