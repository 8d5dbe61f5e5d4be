package testbroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

// Backend is the cluster behind proxy-mode test brokers: an embedded
// cluster of n brokers, each of which advertises in its metadata the
// address its proxy registered, plus a small HTTP endpoint for the
// registrations. Killing a proxy makes its broker unreachable to clients,
// as killing a real broker would; the backend itself keeps serving, and
// its data is shared by every broker (what it can and cannot simulate:
// see the package comment).
type Backend struct {
	embedded *cluster.Embedded
	lns      []*advertisedListener
	srv      *http.Server
	url      string
}

// StartBackend starts a backend of n brokers on free ports of 127.0.0.1.
func StartBackend(n int) (*Backend, error) {
	b := &Backend{}
	var mu sync.Mutex
	listen := func(network, address string) (net.Listener, error) {
		ln, err := net.Listen(network, net.JoinHostPort("127.0.0.1", portOf(address)))
		if err != nil {
			return nil, err
		}
		al := &advertisedListener{Listener: ln}
		mu.Lock()
		b.lns = append(b.lns, al)
		mu.Unlock()
		return al, nil
	}
	e, err := cluster.StartEmbedded(n, kfake.ListenFn(listen))
	if err != nil {
		return nil, err
	}
	b.embedded = e
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = e.Close()
		return nil, fmt.Errorf("backend registration endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /register", b.register)
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	b.url = "http://" + ln.Addr().String()
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// portOf returns the port of a listen address such as ":0" or "127.0.0.1:9092".
func portOf(address string) string {
	_, port, err := net.SplitHostPort(address)
	if err != nil || port == "" {
		return "0"
	}
	return port
}

// URL is what proxy-mode brokers are given as --backend.
func (b *Backend) URL() string { return b.url }

// Embedded returns the backend's cluster, for fault injection in tests.
func (b *Backend) Embedded() *cluster.Embedded { return b.embedded }

// Close stops the registration endpoint and the cluster.
func (b *Backend) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(b.srv.Shutdown(ctx), b.embedded.Close())
}

// register handles POST /register?index=I&addr=HOST:PORT: broker I
// advertises HOST:PORT from now on; the answer is the broker's own address,
// which the proxy forwards to.
func (b *Backend) register(w http.ResponseWriter, r *http.Request) {
	i, err := strconv.Atoi(r.URL.Query().Get("index"))
	if err != nil || i < 0 || i >= len(b.lns) {
		http.Error(w, fmt.Sprintf("index %q: want 0..%d", r.URL.Query().Get("index"), len(b.lns)-1), http.StatusBadRequest)
		return
	}
	addr, err := net.ResolveTCPAddr("tcp", r.URL.Query().Get("addr"))
	if err != nil {
		http.Error(w, fmt.Sprintf("addr: %v", err), http.StatusBadRequest)
		return
	}
	b.lns[i].advertise(addr)
	_, _ = fmt.Fprint(w, b.lns[i].Listener.Addr().String())
}

// advertisedListener is a broker's listener whose Addr, which kfake puts in
// its metadata answers, is the address a proxy registered for it.
type advertisedListener struct {
	net.Listener
	mu   sync.Mutex
	addr net.Addr
}

func (l *advertisedListener) advertise(a net.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addr = a
}

// Addr returns the registered address, or the real one before a registration.
func (l *advertisedListener) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.addr != nil {
		return l.addr
	}
	return l.Listener.Addr()
}
