package netproxy

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// patience bounds every wait of these tests for something that must
// happen: long, so that a busy machine passes; it is never a measurement.
const patience = 20 * time.Second

// echoServer echoes every connection, counting connections and bytes received.
type echoServer struct {
	ln       net.Listener
	accepted atomic.Int64
	received atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func startEcho(t *testing.T) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
					_ = c.Close()
				}()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						s.received.Add(int64(n))
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *echoServer) close() {
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *echoServer) addr() string { return s.ln.Addr().String() }

func startProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := Listen("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// roundTrip writes msg and requires it echoed back.
func roundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(patience))
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	errc := make(chan error, 1)
	go func() { _, err := c.Write(msg); errc <- err }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read the echo of %d bytes: %v", len(msg), err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write %d bytes: %v", len(msg), err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("the echo of %d bytes differs", len(msg))
	}
}

// wantClosed requires c's next read to fail as a closed or reset
// connection does, not to time out.
func wantClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(patience))
	n, err := c.Read(make([]byte, 1))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d byte(s), %v: want the connection closed or reset", n, err)
	}
}

// wantNothing requires nothing to arrive on c within window.
func wantNothing(t *testing.T, c net.Conn, window time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(window))
	n, err := c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d byte(s), %v: want nothing within %s", n, err, window)
	}
	_ = c.SetReadDeadline(time.Time{})
}

func random(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestPassCarriesBytesBothWays(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.addr())
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("hello"))
	roundTrip(t, c, random(t, 4<<20))
	// A half-close reaches the server, whose close reaches the client.
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(patience))
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after a half-close: read %d, %v; want EOF", n, err)
	}
	if got := s.received.Load(); got != 5+4<<20 {
		t.Errorf("the server received %d bytes, want %d", got, 5+4<<20)
	}
}

func TestCutResetClosesAndRefuses(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.addr())
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("before"))
	if n := p.Set(State{Kind: Cut}); n != 1 {
		t.Errorf("Set(cut) reset %d connections, want 1", n)
	}
	wantClosed(t, c)
	// The listener stays: a new connection is reset once accepted, which
	// the dialer sees at its connect or its first read.
	if fresh, err := net.DialTimeout("tcp", p.Addr(), patience); err == nil {
		wantClosed(t, fresh)
		_ = fresh.Close()
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("dial a cut link: %v; want a reset", err)
	}
	p.Heal()
	roundTrip(t, dial(t, p.Addr()), []byte("after"))
}

// TestCutDropHoldsThenHeals: a dropped link holds its connections and
// passes nothing; a new connection is held without reaching the target;
// after heal both carry bytes, nothing lost.
func TestCutDropHoldsThenHeals(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.addr())
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("before"))
	if n := p.Set(State{Kind: Cut, Drop: true}); n != 0 {
		t.Errorf("Set(cut drop) reset %d connections, want 0", n)
	}
	received, accepted := s.received.Load(), s.accepted.Load()
	if _, err := c.Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	fresh := dial(t, p.Addr())
	if _, err := fresh.Write([]byte("new")); err != nil {
		t.Fatal(err)
	}
	wantNothing(t, c, 300*time.Millisecond)
	wantNothing(t, fresh, 50*time.Millisecond)
	if got := s.received.Load(); got != received {
		t.Errorf("the server received %d bytes while the link dropped", got-received)
	}
	if got := s.accepted.Load(); got != accepted {
		t.Errorf("the server accepted %d connections while the link dropped", got-accepted)
	}
	p.Heal()
	got := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(patience))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "held" {
		t.Fatalf("after heal the held connection read %q, %v; want the held bytes echoed", got, err)
	}
	got = got[:3]
	_ = fresh.SetReadDeadline(time.Now().Add(patience))
	if _, err := io.ReadFull(fresh, got); err != nil || string(got) != "new" {
		t.Fatalf("after heal the new connection read %q, %v; want its bytes echoed", got, err)
	}
	roundTrip(t, c, []byte("after"))
}

func TestSlowAddsLatencyInOrder(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.addr())
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("warm"))
	const latency, jitter = 150 * time.Millisecond, 50 * time.Millisecond
	p.Set(State{Kind: Slow, Latency: latency, Jitter: jitter})
	start := time.Now()
	roundTrip(t, c, []byte("x"))
	// Both ways are slow: at least twice the latency less the jitter.
	if took, least := time.Since(start), 2*(latency-jitter); took < least || took > least+patience {
		t.Errorf("a round trip took %s, want at least %s", took, least)
	}
	// Many small writes come back whole and in order.
	var want bytes.Buffer
	errc := make(chan error, 1)
	go func() {
		for i := range 200 {
			b := []byte{byte(i), byte(i >> 8)}
			want.Write(b)
			if _, err := c.Write(b); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	got := make([]byte, 400)
	_ = c.SetReadDeadline(time.Now().Add(patience))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Error("bytes written in 200 small writes came back reordered or changed")
	}
	p.Heal()
	roundTrip(t, c, random(t, 1<<20))
}

func TestFlakyResetsConnections(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.addr())
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("before"))
	p.Set(State{Kind: Flaky, ResetEvery: 20 * time.Millisecond, Seed: 7})
	wantClosed(t, c)
	fresh := dial(t, p.Addr()) // accepted, then reset at its own time
	wantClosed(t, fresh)
	p.Heal()
	roundTrip(t, dial(t, p.Addr()), []byte("after"))
}

// TestSwitchingKeepsTheStream: a stream echoed through the proxy while it
// is switched between pass, slow and drop arrives whole and in order.
func TestSwitchingKeepsTheStream(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.addr())
	c := dial(t, p.Addr())
	msg := random(t, 16<<20)
	errc := make(chan error, 1)
	go func() {
		for off := 0; off < len(msg); off += 64 << 10 {
			if _, err := c.Write(msg[off:min(off+64<<10, len(msg))]); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	stop := make(chan struct{})
	switched := make(chan int)
	go func() {
		states := []State{{Kind: Slow, Latency: time.Millisecond, Jitter: time.Millisecond}, {Kind: Cut, Drop: true}, {Kind: Pass}}
		n := 0
		defer func() { switched <- n }()
		for {
			select {
			case <-stop:
				p.Heal()
				return
			case <-time.After(time.Millisecond):
			}
			p.Set(states[n%len(states)])
			n++
		}
	}()
	got := make([]byte, len(msg))
	_ = c.SetReadDeadline(time.Now().Add(2 * patience))
	// Read the first half while the states switch, the rest once healed.
	_, err := io.ReadFull(c, got[:len(got)/2])
	close(stop)
	n := <-switched
	if err == nil {
		_, err = io.ReadFull(c, got[len(got)/2:])
	}
	if err != nil {
		t.Fatalf("after %d switches: %v", n, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("after %d switches the stream came back changed", n)
	}
	t.Logf("%d switches of state during the stream", n)
}

func TestCloseEndsEverything(t *testing.T) {
	s := startEcho(t)
	p := startProxy(t, s.addr())
	c := dial(t, p.Addr())
	roundTrip(t, c, []byte("x"))
	p.Set(State{Kind: Cut, Drop: true})
	held := dial(t, p.Addr())
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	wantClosed(t, c)
	wantClosed(t, held)
	if _, err := net.DialTimeout("tcp", p.Addr(), patience); err == nil {
		t.Error("a closed proxy still accepts connections")
	}
}

// TestNoLeak: 10,000 connections through a proxy, in every state, leave
// no goroutine and no file descriptor behind.
func TestNoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections")
	}
	s := startEcho(t)
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	p, err := Listen("127.0.0.1:0", s.addr())
	if err != nil {
		t.Fatal(err)
	}
	const conns, workers = 10000, 16
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > conns {
					return
				}
				if err := oneConn(p.Addr(), i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Meanwhile the proxy goes through every state but drop (which would hold the workers).
	go func() {
		states := []State{{Kind: Slow, Latency: time.Millisecond}, {Kind: Flaky, ResetEvery: 5 * time.Millisecond}, {Kind: Cut}, {Kind: Pass}}
		for i := 0; next.Load() < conns; i++ {
			p.Set(states[i%len(states)])
			time.Sleep(20 * time.Millisecond)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	p.Heal()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(patience)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && (fds < 0 || f <= fds) {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("after %d connections: %d goroutines (was %d), %d descriptors (was %d)\n%s",
				conns, g, goroutines, f, fds, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// oneConn echoes one byte through addr and closes with a reset, so that
// 10,000 connections leave no TIME_WAIT behind. A connection the proxy
// reset (cut, flaky) is fine: the point is what is left after.
func oneConn(addr string, i int64) error {
	c, err := net.DialTimeout("tcp", addr, patience)
	if errors.Is(err, syscall.ECONNRESET) {
		return nil // reset by a cut as soon as accepted
	}
	if err != nil {
		return err
	}
	defer func() {
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	}()
	_ = c.SetDeadline(time.Now().Add(patience))
	if _, err := c.Write([]byte{byte(i)}); err != nil {
		return nil
	}
	b := make([]byte, 1)
	if _, err := c.Read(b); err == nil && b[0] != byte(i) {
		return errors.New("echoed a wrong byte")
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		return errors.New("a connection neither echoed nor was reset within the patience")
	}
	return nil
}

// openFDs counts this process's open descriptors, or -1 without /proc.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}
