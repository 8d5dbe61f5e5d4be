package cluster

import (
	"net"
	"sync"
)

// netControl is the embedded cluster's network, per listening port: it
// tracks every connection a broker accepted, so that a kill cuts them (kfake's
// RemoveNode closes only the listener, and a broker whose clients stay
// connected is not dead), and it can freeze a port's traffic, so that a
// paused broker neither reads requests nor writes answers, as a stopped
// process would. The state of a port outlives the kfake cluster that listens
// on it, so a whole-cluster restart on the same ports keeps it.
type netControl struct {
	mu    sync.Mutex
	ports map[int]*portControl
}

func newNetControl() *netControl { return &netControl{ports: map[int]*portControl{}} }

// portControl is the traffic of one listening port.
type portControl struct {
	mu         sync.Mutex
	conns      map[*trackedConn]struct{}
	paused     chan struct{} // non-nil while paused; closed by resume
	advertised net.Addr      // what the port's listener says its address is; nil: its own (see Advertise)
}

// port returns the control of port, creating it.
func (n *netControl) port(port int) *portControl {
	n.mu.Lock()
	defer n.mu.Unlock()
	pc := n.ports[port]
	if pc == nil {
		pc = &portControl{conns: map[*trackedConn]struct{}{}}
		n.ports[port] = pc
	}
	return pc
}

// listen is kfake's ListenFn: a loopback listener whose connections are tracked.
func (n *netControl) listen(network, address string) (net.Listener, error) {
	ln, err := loopback(network, address)
	if err != nil {
		return nil, err
	}
	pc := n.port(ln.Addr().(*net.TCPAddr).Port)
	return &trackedListener{Listener: ln, pc: pc, closed: make(chan struct{})}, nil
}

// cut closes every connection accepted on port and returns how many there were.
func (n *netControl) cut(port int) int {
	pc := n.port(port)
	pc.mu.Lock()
	conns := make([]*trackedConn, 0, len(pc.conns))
	for c := range pc.conns {
		conns = append(conns, c)
	}
	pc.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return len(conns)
}

// pause freezes the traffic of port; resume thaws it. Both are idempotent.
func (n *netControl) pause(port int) {
	pc := n.port(port)
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.paused == nil {
		pc.paused = make(chan struct{})
	}
}

func (n *netControl) resume(port int) {
	pc := n.port(port)
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.paused != nil {
		close(pc.paused)
		pc.paused = nil
	}
}

// wait blocks while the port is paused; it returns false when done closes first.
func (pc *portControl) wait(done <-chan struct{}) bool {
	for {
		pc.mu.Lock()
		ch := pc.paused
		pc.mu.Unlock()
		if ch == nil {
			return true
		}
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}

// trackedListener registers each accepted connection with its port; while
// the port is paused it holds accepted connections, as a stopped process
// leaves them in its accept queue.
type trackedListener struct {
	net.Listener
	pc        *portControl
	closeOnce sync.Once
	closed    chan struct{}
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if !l.pc.wait(l.closed) {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	// Registered under the port's lock, and only while the listener is
	// open: a kill closes the listener before it cuts the port's
	// connections, so a connection accepted meanwhile is cut either way.
	tc := &trackedConn{Conn: c, pc: l.pc, closed: make(chan struct{})}
	l.pc.mu.Lock()
	select {
	case <-l.closed:
		l.pc.mu.Unlock()
		_ = c.Close()
		return nil, net.ErrClosed
	default:
	}
	l.pc.conns[tc] = struct{}{}
	l.pc.mu.Unlock()
	return tc, nil
}

func (l *trackedListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// trackedConn is an accepted connection whose reads and writes stop while
// its port is paused.
type trackedConn struct {
	net.Conn
	pc        *portControl
	closeOnce sync.Once
	closed    chan struct{}
}

func (c *trackedConn) Read(b []byte) (int, error) {
	if !c.pc.wait(c.closed) {
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Read(b)
	// Bytes that arrive while paused stay unread until the port resumes.
	if !c.pc.wait(c.closed) {
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *trackedConn) Write(b []byte) (int, error) {
	if !c.pc.wait(c.closed) {
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

func (c *trackedConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.pc.mu.Lock()
		delete(c.pc.conns, c)
		c.pc.mu.Unlock()
	})
	return c.Conn.Close()
}
