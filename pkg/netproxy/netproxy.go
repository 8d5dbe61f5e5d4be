// Package netproxy is a TCP forwarder for one directed network link whose
// behaviour can be switched at any moment: pass, cut, slow or flaky. The
// runner puts one on every link between the nodes it spawns (and between
// itself and each node), so that a network partition is the runner
// refusing to forward bytes: no root, no iptables, one machine.
//
// What each state does:
//
//   - Pass forwards bytes both ways as they come, through a 32 KiB buffer
//     per direction. Not with splice(2): a copy in the kernel cannot be
//     stopped between reading bytes and writing them, so a cut could let
//     through bytes sent after it. The cost is one read and one write per
//     chunk, which the benchmarks in pkg/scenarios show is not measurable
//     on the produce and consume paths.
//   - Cut with Reset closes every connection with a TCP reset and resets
//     every new one as soon as it is accepted (the listener stays open, so
//     the address stays the proxy's: a dialer's connect succeeds and its
//     first read fails with ECONNRESET, as close to "refused" as a
//     listening port can come).
//   - Cut with Drop holds every connection open and passes nothing either
//     way; a new connection is accepted and held, its target not dialed.
//     When the link heals the held connections carry bytes again, with
//     nothing lost, in order, and the held new ones are connected: what TCP
//     does after a partition shorter than its retransmission timeout.
//   - Slow delays every chunk of bytes by Latency ± Jitter, keeping their
//     order; a chunk already delayed when the state changes is delivered
//     first.
//   - Flaky passes bytes but resets each connection after a random time
//     (exponential, mean ResetEvery) from the moment it was accepted or the
//     fault was set, drawn from a generator seeded with Seed.
//
// A dial of the target that fails resets the accepted connection.
package netproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is what a proxy does with bytes.
type Kind int

// The proxy states.
const (
	Pass  Kind = iota // forward everything
	Cut               // forward nothing (see State.Drop)
	Slow              // forward every chunk after Latency ± Jitter
	Flaky             // forward, but reset each connection at a random time
)

// String returns "pass", "cut", "slow" or "flaky".
func (k Kind) String() string {
	switch k {
	case Pass:
		return "pass"
	case Cut:
		return "cut"
	case Slow:
		return "slow"
	case Flaky:
		return "flaky"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// State is what a proxy does now.
type State struct {
	Kind Kind
	// Drop makes Cut hold connections open and pass nothing, rather than reset them.
	Drop bool
	// Latency and Jitter are Slow's delay of every chunk.
	Latency, Jitter time.Duration
	// ResetEvery is Flaky's mean time before a connection is reset; Seed
	// seeds its draws.
	ResetEvery time.Duration
	Seed       uint64
}

// dialTimeout bounds a dial of the target.
const dialTimeout = 5 * time.Second

// chunkSize is the largest chunk a faulted copy reads at once.
const chunkSize = 32 << 10

// slowQueue is how many delayed chunks a direction holds before it stops reading.
const slowQueue = 16

// Proxy listens on one address and forwards every connection to its target.
type Proxy struct {
	ln     net.Listener
	target string

	cur atomic.Pointer[snapshot] // what the proxy does now

	mu     sync.Mutex
	conns  map[*conn]struct{}
	rng    *rand.Rand // Flaky's draws
	closed bool

	ctx    context.Context // ends when the proxy closes
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// snapshot is a state and the channel closed when it is replaced.
type snapshot struct {
	State
	changed chan struct{}
}

// conn is one accepted connection and, once dialed, its target's.
type conn struct {
	client net.Conn
	reset  *time.Timer // Flaky's timer, guarded by the proxy's mu; nil when none
	done   chan struct{}

	mu     sync.Mutex
	server net.Conn // nil until dialed
	ended  bool
}

// Listen starts a proxy on addr (e.g. "127.0.0.1:0") forwarding to target.
func Listen(addr, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{ln: ln, target: target, conns: map[*conn]struct{}{}, rng: rand.New(rand.NewPCG(0, 0)), ctx: ctx, cancel: cancel}
	p.cur.Store(&snapshot{changed: make(chan struct{})})
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target returns the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// State returns what the proxy does now.
func (p *Proxy) State() State { return p.current().State }

// Conns returns how many connections the proxy holds now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Set switches the proxy to s at once, for the connections it holds and
// every new one, and returns how many connections it reset doing so.
func (p *Proxy) Set(s State) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0
	}
	old := p.cur.Swap(&snapshot{State: s, changed: make(chan struct{})})
	close(old.changed)
	if s.Kind == Flaky {
		p.rng = rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	}
	reset := 0
	for c := range p.conns {
		if c.reset != nil {
			c.reset.Stop()
			c.reset = nil
		}
		if s.Kind == Cut && !s.Drop {
			c.close(true)
			reset++
			continue
		}
		if s.Kind == Flaky {
			p.armLocked(c)
		}
		c.interrupt()
	}
	return reset
}

// Heal switches the proxy back to Pass.
func (p *Proxy) Heal() { p.Set(State{Kind: Pass}) }

// Close stops listening, closes every connection and waits for them.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.cancel()
	err := p.ln.Close()
	for c := range p.conns {
		if c.reset != nil {
			c.reset.Stop()
		}
		c.close(false)
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// armLocked starts c's Flaky timer; p.mu is held.
func (p *Proxy) armLocked(c *conn) {
	mean := float64(p.current().ResetEvery)
	if mean <= 0 {
		mean = float64(time.Second)
	}
	d := time.Duration(math.Min(p.rng.ExpFloat64()*mean, float64(24*time.Hour)))
	c.reset = time.AfterFunc(d, func() { c.close(true) })
}

// current returns the state and the channel closed when it next changes.
func (p *Proxy) current() *snapshot { return p.cur.Load() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			// Out of descriptors or the like: wait a moment rather than spin.
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		c := &conn{client: nc, done: make(chan struct{})}
		p.mu.Lock()
		st := p.current()
		switch {
		case p.closed:
			p.mu.Unlock()
			c.close(false)
			return
		case st.Kind == Cut && !st.Drop:
			p.mu.Unlock()
			c.close(true)
			continue
		}
		p.conns[c] = struct{}{}
		if st.Kind == Flaky {
			p.armLocked(c)
		}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// serve waits while the link drops, dials the target and forwards both
// ways until either side ends, then forgets c.
func (p *Proxy) serve(c *conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		if c.reset != nil {
			c.reset.Stop()
		}
		p.mu.Unlock()
		c.close(false)
	}()
	if !p.passable(c) {
		return
	}
	d := net.Dialer{Timeout: dialTimeout}
	server, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		c.close(true)
		return
	}
	if !c.connect(server) { // reset meanwhile
		_ = server.Close()
		return
	}
	// A state change before now did not interrupt server: harmless, the
	// pumps read the state before they copy.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.pump(c, server, c.client)
	}()
	p.pump(c, c.client, server)
	wg.Wait()
}

// pump copies src to dst in whatever state the proxy is, until src ends
// (then it half-closes dst) or c is closed. It copies through its own
// buffer, not with splice(2), so that it can look at the state between
// reading bytes and writing them: bytes read once a cut was set are held
// (drop) or never written (reset), even those a read already under way
// when the cut came returns.
func (p *Proxy) pump(c *conn, dst, src net.Conn) {
	buf := make([]byte, chunkSize)
	for {
		// Clear any interruption before reading the state: a change after
		// this sets the deadline again and interrupts the read below.
		_ = src.SetReadDeadline(time.Time{})
		if !p.passable(c) {
			return
		}
		var err error
		if s := p.current(); s.Kind == Slow {
			err = p.slowCopy(c, dst, src, s.State, buf)
		} else {
			var n int
			n, err = src.Read(buf)
			if n > 0 {
				if !p.passable(c) {
					return
				}
				// A read that returns bytes may win over the interruption
				// of a new state (both ready when the pump runs again):
				// bytes read as the link turned slow are delayed too.
				if s := p.current(); s.Kind == Slow && !p.delay(c, s.Latency) {
					return
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					c.close(false)
					return
				}
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			// interrupted for a new state: only Set sets deadlines
		case errors.Is(err, io.EOF): // src is done sending: pass it on
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
				return
			}
			c.close(false)
			return
		default:
			c.close(false)
			return
		}
	}
}

// delay waits d, then reports whether the link still passes bytes of c.
func (p *Proxy) delay(c *conn, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.done:
		return false
	}
	return p.passable(c)
}

// passable waits while the link drops; false when c ended or is being reset.
func (p *Proxy) passable(c *conn) bool {
	for {
		s := p.current()
		switch {
		case s.Kind == Cut && !s.Drop:
			return false
		case s.Kind == Cut:
			select {
			case <-s.changed:
			case <-c.done:
				return false
			}
		default:
			return true
		}
	}
}

type chunk struct {
	b   []byte
	due time.Time
}

// slowCopy copies src to dst, each chunk after s.Latency ± s.Jitter and in
// order, until src fails or is interrupted (a deadline error) or ends
// (io.EOF); the chunks read by then are delivered first, unless the link
// is cut meanwhile.
func (p *Proxy) slowCopy(c *conn, dst, src net.Conn, s State, buf []byte) error {
	q := make(chan chunk, slowQueue)
	werr := make(chan error, 1)
	go func() {
		var err error
		for ch := range q {
			if err != nil {
				continue // drain
			}
			if wait := time.Until(ch.due); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-c.done:
					t.Stop()
				}
			}
			if !p.passable(c) {
				err = net.ErrClosed
				continue
			}
			_, err = dst.Write(ch.b)
		}
		werr <- err
	}()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	var last time.Time
	var rerr error
	for {
		n, err := src.Read(buf)
		if n > 0 {
			delay := s.Latency
			if s.Jitter > 0 {
				delay += time.Duration(rng.Int64N(int64(2*s.Jitter)+1)) - s.Jitter
			}
			due := time.Now().Add(max(delay, 0))
			if due.Before(last) {
				due = last // order kept
			}
			last = due
			q <- chunk{bytes.Clone(buf[:n]), due}
		}
		if err != nil {
			rerr = err
			break
		}
	}
	close(q)
	if err := <-werr; err != nil {
		return err
	}
	return rerr
}

// connect gives c its target's connection; false when c ended already.
func (c *conn) connect(server net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.server = server
	return true
}

// interrupt makes the copies of c return with a deadline error, so that
// they take up a new state.
func (c *conn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	past := time.Unix(1, 0)
	_ = c.client.SetReadDeadline(past)
	if c.server != nil {
		_ = c.server.SetReadDeadline(past)
	}
}

// close ends c once: with a TCP reset when reset is set, else with a FIN.
func (c *conn) close(reset bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended = true
	close(c.done)
	for _, nc := range []net.Conn{c.client, c.server} {
		if nc == nil {
			continue
		}
		if tc, ok := nc.(*net.TCPConn); ok && reset {
			_ = tc.SetLinger(0)
		}
		_ = nc.Close()
	}
}
