package testbroker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

// Backend is the cluster behind proxy-mode test brokers: an embedded
// cluster of n brokers, each of which advertises in its metadata the
// address its node registered, plus a small HTTP endpoint for the
// registrations.
//
// It learns of its nodes' lives through their registrations and acts on
// its brokers as the embedded cluster's node control does (cluster.Embedded.Do):
//
//   - POST /register?index=I&addr=HOST:PORT: the node at HOST:PORT is
//     broker I. The answer is the broker's own address, on one line, and
//     then stays open while the node lives. When the node registers again
//     after its broker was taken down, the broker starts again (OpStart: on
//     the same port, its preferred leaderships back).
//   - the registration's connection ends (the node's process exited or was
//     killed, and the kernel closed its sockets): the broker is killed
//     (OpKill: removed, its connections cut, its partitions led by the next
//     broker up, deterministically), as a real cluster's failure detector
//     would, only at once;
//   - POST /leave?index=I&addr=HOST:PORT, sent by a node shutting down on
//     SIGTERM: a controlled shutdown (OpStop: leadership moves off the
//     broker first, then it goes);
//   - with a membership rule (WithMembership), a node registers with
//     &member=1 and reports every heartbeat whom it heard how long ago:
//     POST /view?index=I&addr=HOST:PORT&heard=J:MS,..., answered with its
//     state (member, isolated or out); the rule decides who may lead
//     (membership.go).
//
// So killing a node with SIGKILL makes its broker unreachable and moves its
// leaderships, and starting it again brings the broker back. What it cannot
// simulate: the brokers share one copy of the data (kept on disk, so that
// the whole cluster can restart), so a kill loses nothing acknowledged and a
// restarted broker is in sync at once; without a membership rule a paused
// (SIGSTOP) node keeps its leadership, as no failure detector notices it.
// If the backend goes away, its nodes exit.
type Backend struct {
	embedded *cluster.Embedded
	srv      *http.Server
	url      string
	done     chan struct{} // closed by Close: registrations end without killing brokers

	mu       sync.Mutex
	closed   bool
	sessions []*session // per broker: the node registered for it; nil when none
	down     []bool     // per broker: taken down by the backend when its node went away
	events   []string
	log      io.Writer
	before   func(op cluster.Op, id int32)
	after    func(op cluster.Op, id int32)
	handlers sync.WaitGroup

	repl   replState  // how replication shows (replication.go)
	member membership // who may lead (membership.go)
}

// session is one node's registration for a broker.
type session struct {
	addr  string
	left  bool          // the node left with a controlled shutdown: its broker is down already
	ended chan struct{} // closed once the backend has acted on the node's going
}

// registerWait is how long a registration waits for the previous node of
// the same broker to be gone: a restarted node may register a moment before
// the backend has seen its predecessor's connection close.
const registerWait = 10 * time.Second

// opTimeout bounds one operation on the backend's cluster.
const opTimeout = 30 * time.Second

// maxEvents bounds the events a backend keeps.
const maxEvents = 1000

// StartBackend starts a backend of n brokers on free ports of 127.0.0.1,
// its data in a temporary directory that Close removes.
func StartBackend(n int, opts ...BackendOption) (*Backend, error) {
	e, err := cluster.StartEmbeddedDurable(n)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("backend registration endpoint: %w", err)
	}
	b := &Backend{
		embedded: e, done: make(chan struct{}),
		sessions: make([]*session, n), down: make([]bool, n),
	}
	for _, o := range opts {
		o(b)
	}
	if err := b.startFronts(); err != nil {
		_ = ln.Close()
		_ = e.Close()
		return nil, err
	}
	b.startMembership(n)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /register", b.register)
	mux.HandleFunc("POST /view", b.view)
	mux.HandleFunc("POST /leave", b.leave)
	mux.HandleFunc("GET /placement", b.placement)
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	b.url = "http://" + ln.Addr().String()
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// URL is what proxy-mode brokers are given as --backend.
func (b *Backend) URL() string { return b.url }

// Embedded returns the backend's cluster, for fault injection in tests.
func (b *Backend) Embedded() *cluster.Embedded { return b.embedded }

// SetLog makes the backend write each event (see Events) to w as a line.
func (b *Backend) SetLog(w io.Writer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.log = w
}

// OnNodeOp makes the backend call before and after (either may be nil)
// around each operation it performs on a broker, after only when the
// operation succeeded: the way tests make a failure misbehave (keep a
// partition leaderless, lose records). They run with the backend locked:
// they must not call the backend's methods other than Embedded.
func (b *Backend) OnNodeOp(before, after func(op cluster.Op, id int32)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.before, b.after = before, after
}

// Events returns what the backend did as its nodes came and went, oldest
// first: "node at 127.0.0.1:40001 went away: kill broker 0: removed node 0 ...".
func (b *Backend) Events() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// Close ends every registration (without taking brokers down: the nodes,
// which lose their backend, exit), stops the endpoint and the cluster.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := b.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, b.srv.Close())
	}
	b.handlers.Wait()
	b.closeFronts()
	return errors.Join(err, b.embedded.Close())
}

// event records what happened, under b.mu.
func (b *Backend) event(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if len(b.events) < maxEvents {
		b.events = append(b.events, line)
	}
	if b.log != nil {
		fmt.Fprintf(b.log, "backend: %s\n", line)
	}
}

// nodeOp performs op on broker i, under b.mu, records it and returns what
// the cluster said it did.
func (b *Backend) nodeOp(op cluster.Op, i int, why string) (string, error) {
	id := int32(i)
	if b.before != nil {
		b.before(op, id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	out, err := b.embedded.Do(ctx, op, cluster.Node{ID: id})
	if err != nil {
		b.event("%s: %s broker %d failed: %v", why, op, i, err)
		return "", err
	}
	b.down[i] = op == cluster.OpKill || op == cluster.OpStop
	b.nodeChanged(op, i)
	b.event("%s: %s broker %d: %s", why, op, i, out)
	b.memberNodeChanged(op, i)
	if b.after != nil {
		b.after(op, id)
	}
	return out, nil
}

// nodeQuery parses ?index=I&addr=HOST:PORT; it answers 400 and returns
// false when they are not a broker and an address.
func (b *Backend) nodeQuery(w http.ResponseWriter, r *http.Request) (int, string, bool) {
	i, err := strconv.Atoi(r.URL.Query().Get("index"))
	if err != nil || i < 0 || i >= len(b.sessions) {
		http.Error(w, fmt.Sprintf("index %q: want 0..%d", r.URL.Query().Get("index"), len(b.sessions)-1), http.StatusBadRequest)
		return 0, "", false
	}
	addr := r.URL.Query().Get("addr")
	if _, err := net.ResolveTCPAddr("tcp", addr); err != nil {
		http.Error(w, fmt.Sprintf("addr: %v", err), http.StatusBadRequest)
		return 0, "", false
	}
	return i, addr, true
}

// register handles POST /register?index=I&addr=HOST:PORT (see Backend).
func (b *Backend) register(w http.ResponseWriter, r *http.Request) {
	i, addr, ok := b.nodeQuery(w, r)
	if !ok || !b.checkMember(w, r) {
		return
	}
	b.mu.Lock()
	prev := b.sessions[i]
	b.mu.Unlock()
	if prev != nil {
		select {
		case <-prev.ended:
		case <-r.Context().Done():
			return
		case <-b.done:
			http.Error(w, "the backend is closing", http.StatusServiceUnavailable)
			return
		case <-time.After(registerWait):
			http.Error(w, fmt.Sprintf("broker %d is registered to the node at %s, which is still connected after %s", i, prev.addr, registerWait), http.StatusConflict)
			return
		}
	}

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		http.Error(w, "the backend is closing", http.StatusServiceUnavailable)
		return
	}
	if other := b.sessions[i]; other != nil {
		b.mu.Unlock()
		http.Error(w, fmt.Sprintf("broker %d: the node at %s registered for it meanwhile", i, other.addr), http.StatusConflict)
		return
	}
	if err := b.embedded.Advertise(int32(i), addr); err != nil {
		b.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if b.down[i] {
		if _, err := b.nodeOp(cluster.OpStart, i, fmt.Sprintf("node at %s registered", addr)); err != nil {
			b.mu.Unlock()
			http.Error(w, fmt.Sprintf("start broker %d again: %v", i, err), http.StatusInternalServerError)
			return
		}
	}
	s := &session{addr: addr, ended: make(chan struct{})}
	b.sessions[i] = s
	b.member.registered(i, addr)
	b.handlers.Add(1)
	b.mu.Unlock()
	defer b.handlers.Done()

	// The answer, then the open connection: its end is the node's.
	_, err := fmt.Fprintln(w, b.target(i))
	if err == nil {
		err = http.NewResponseController(w).Flush()
	}
	if err == nil {
		select {
		case <-r.Context().Done():
		case <-b.done:
		}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed && !s.left && !b.down[i] {
		_, _ = b.nodeOp(cluster.OpKill, i, fmt.Sprintf("node at %s went away", addr))
	}
	b.sessions[i] = nil
	b.member.registered(i, "")
	close(s.ended)
}

// leave handles POST /leave?index=I&addr=HOST:PORT (see Backend): it
// answers what the backend did.
func (b *Backend) leave(w http.ResponseWriter, r *http.Request) {
	i, addr, ok := b.nodeQuery(w, r)
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sessions[i]
	if b.closed || s == nil || s.addr != addr {
		http.Error(w, fmt.Sprintf("broker %d is not registered to a node at %s", i, addr), http.StatusConflict)
		return
	}
	if s.left || b.down[i] {
		_, _ = fmt.Fprintf(w, "broker %d is down already\n", i)
		return
	}
	out, err := b.nodeOp(cluster.OpStop, i, fmt.Sprintf("node at %s is shutting down", addr))
	if err != nil {
		http.Error(w, fmt.Sprintf("stop broker %d: %v", i, err), http.StatusInternalServerError)
		return
	}
	s.left = true
	_, _ = fmt.Fprintf(w, "broker %d stopped: %s\n", i, out)
}
