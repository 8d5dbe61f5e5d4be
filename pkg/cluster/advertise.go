package cluster

import (
	"fmt"
	"net"
	"slices"
)

// Advertise makes broker id of the embedded cluster advertise addr in its
// metadata answers in place of its own listen address, from now on and
// across restarts of the node or the whole cluster: clients then reach it
// at addr, through whatever forwards addr to it (the test broker's proxy
// nodes). It still listens where it did.
func (e *Embedded) Advertise(id int32, addr string) error {
	i := slices.Index(e.nodes, id)
	if i < 0 {
		return fmt.Errorf("advertise %s for node %d: the embedded cluster has nodes %v", addr, id, e.nodes)
	}
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return fmt.Errorf("advertise %q for node %d: %w", addr, id, err)
	}
	pc := e.net.port(e.ports[i])
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.advertised = a
	return nil
}

// Addr returns the address the port advertises (see Advertise), or the
// listener's own; kfake puts it in its metadata answers.
func (l *trackedListener) Addr() net.Addr {
	l.pc.mu.Lock()
	defer l.pc.mu.Unlock()
	if l.pc.advertised != nil {
		return l.pc.advertised
	}
	return l.Listener.Addr()
}
