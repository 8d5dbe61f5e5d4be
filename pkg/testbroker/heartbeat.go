package testbroker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// peer is one --peers entry: node id's heartbeat port, at the address this
// node reaches it by (a link proxy of the runner's, or its real address).
type peer struct {
	id   int
	addr string
}

// parsePeers parses "ID=HOST:PORT,ID=HOST:PORT" (empty entries skipped, so
// that a template may leave a trailing comma).
func parsePeers(s string) ([]peer, error) {
	var out []peer
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		id, addr, ok := strings.Cut(e, "=")
		n, err := strconv.Atoi(id)
		if !ok || err != nil {
			return nil, fmt.Errorf("--peers entry %q: want ID=HOST:PORT", e)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("--peers entry %q: %v", e, err)
		}
		out = append(out, peer{id: n, addr: addr})
	}
	return out, nil
}

// heartbeats is a node's side of the membership rule (membership.go): it
// pings every peer through the address its flags give, answers its peers'
// pings on --raft-listen, and reports to the backend whom it heard when.
type heartbeats struct {
	c  *config
	lg *logger
	ln net.Listener

	done chan struct{}
	wg   sync.WaitGroup

	heardNow chan struct{} // a ping arrived: report it now (a commit waits for it)

	mu    sync.Mutex
	heard map[int]time.Time // per peer's backend index: when its last ping arrived
	conns map[net.Conn]bool
}

// listenHeartbeats opens c.raftListen; start begins the heartbeats.
func listenHeartbeats(c *config, lg *logger) (*heartbeats, error) {
	ln, err := net.Listen("tcp", c.raftListen)
	if err != nil {
		return nil, fmt.Errorf("heartbeat port --raft-listen %s: %w", c.raftListen, err)
	}
	return &heartbeats{c: c, lg: lg, ln: ln, done: make(chan struct{}), heardNow: make(chan struct{}, 1),
		heard: map[int]time.Time{}, conns: map[net.Conn]bool{}}, nil
}

// giveUp is how long a pinger waits on a connection that answers nothing
// before it dials again.
const giveUp = 5 * time.Second

// deadline bounds one heartbeat exchange: a ping unanswered this long
// makes its peer unreachable until an answer comes.
func (h *heartbeats) deadline() time.Duration { return max(5*h.c.heartbeat, 500*time.Millisecond) }

// start serves the peers' pings, pings every peer and reports to the backend.
func (h *heartbeats) start() {
	h.wg.Add(2 + len(h.c.peers))
	go func() { defer h.wg.Done(); h.serve() }()
	go func() { defer h.wg.Done(); h.report() }()
	for _, p := range h.c.peers {
		go func() { defer h.wg.Done(); h.ping(p) }()
	}
	h.lg.log("INFO", "node %d answers heartbeats on %s and pings %d peer(s) every %s", h.c.id, h.c.raftListen, len(h.c.peers), h.c.heartbeat)
}

// stop ends every heartbeat and waits for them.
func (h *heartbeats) stop() {
	close(h.done)
	_ = h.ln.Close()
	h.mu.Lock()
	for c := range h.conns {
		_ = c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// track adds c to the connections stop closes; false when stopping.
func (h *heartbeats) track(c net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.done:
		_ = c.Close()
		return false
	default:
	}
	h.conns[c] = true
	return true
}

func (h *heartbeats) untrack(c net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	_ = c.Close()
}

// serve answers each "ping INDEX" with "pong" and notes when INDEX was heard.
func (h *heartbeats) serve() {
	for {
		conn, err := h.ln.Accept()
		if err != nil {
			return
		}
		if !h.track(conn) {
			continue
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer h.untrack(conn)
			br := bufio.NewReader(conn)
			for {
				_ = conn.SetDeadline(time.Now().Add(2 * h.deadline()))
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				from, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "ping "))
				if err != nil {
					return
				}
				h.mu.Lock()
				h.heard[from] = time.Now()
				h.mu.Unlock()
				select {
				case h.heardNow <- struct{}{}:
				default: // a report is due already
				}
				if _, err := io.WriteString(conn, "pong\n"); err != nil {
					return
				}
			}
		}()
	}
}

// ping pings p every heartbeat on one connection, dialled again whenever it
// fails, and logs when p becomes reachable or unreachable.
func (h *heartbeats) ping(p peer) {
	reachable := -1 // unknown
	note := func(ok bool, err error) {
		state := 0
		if ok {
			state = 1
		}
		if state == reachable {
			return
		}
		reachable = state
		if ok {
			h.lg.log("INFO", "node %d reaches peer %d at %s", h.c.id, p.id, p.addr)
		} else {
			h.lg.log("WARN", "node %d cannot reach peer %d at %s: %v", h.c.id, p.id, p.addr, err)
		}
	}
	tick := time.NewTicker(h.c.heartbeat)
	defer tick.Stop()
	wait := func() bool {
		select {
		case <-h.done:
			return false
		case <-tick.C:
			return true
		}
	}
	msg := fmt.Sprintf("ping %d\n", h.c.index)
	for {
		conn, err := net.DialTimeout("tcp", p.addr, h.deadline())
		if err != nil {
			note(false, err)
			if !wait() {
				return
			}
			continue
		}
		if !h.track(conn) {
			return
		}
		br := bufio.NewReader(conn)
		var silent time.Time // since when a ping went unanswered
		for {
			_ = conn.SetDeadline(time.Now().Add(h.deadline()))
			if silent.IsZero() {
				_, err = io.WriteString(conn, msg)
			}
			if err == nil {
				var line string
				line, err = br.ReadString('\n')
				if err == nil && line != "pong\n" {
					err = fmt.Errorf("answered %q", line)
				}
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// A black-holed link holds the connection: keep it (a
				// link that heals delivers the ping and its answer) rather
				// than pile up held connections, for a while.
				note(false, fmt.Errorf("no answer within %s", h.deadline()))
				if silent.IsZero() {
					silent = time.Now().Add(-h.deadline())
				}
				if time.Since(silent) < giveUp {
					err = nil
					continue
				}
			}
			if err != nil {
				note(false, err)
				break
			}
			silent = time.Time{}
			note(true, nil)
			if !wait() {
				h.untrack(conn)
				return
			}
		}
		h.untrack(conn)
		if !wait() {
			return
		}
	}
}

// report tells the backend how long ago this node heard each peer (POST
// /view), whenever a ping arrives and at least every heartbeat, and logs
// the state the backend answers.
func (h *heartbeats) report() {
	client := &http.Client{Timeout: h.deadline(), Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(h.c.heartbeat)
	defer tick.Stop()
	base := strings.TrimSuffix(h.c.backend, "/") + "/view?"
	last := ""
	for {
		select {
		case <-h.done:
			return
		case <-tick.C:
		case <-h.heardNow:
		}
		now := time.Now()
		h.mu.Lock()
		heard := make([]string, 0, len(h.heard))
		for from, at := range h.heard {
			heard = append(heard, fmt.Sprintf("%d:%d", from, now.Sub(at).Milliseconds()))
		}
		h.mu.Unlock()
		sort.Strings(heard)
		q := url.Values{"index": {strconv.Itoa(h.c.index)}, "addr": {h.c.advertise}, "heard": {strings.Join(heard, ",")}}
		resp, err := client.Post(base+q.Encode(), "text/plain", nil)
		if err != nil {
			continue // the registration says when the backend is gone
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		state := strings.TrimSpace(string(body))
		if resp.StatusCode != http.StatusOK {
			state = fmt.Sprintf("refused: %s: %s", resp.Status, state)
		}
		if state == last {
			continue
		}
		last = state
		switch state {
		case stateIn.String():
			h.lg.log("INFO", "node %d hears a majority of the cluster: it may lead", h.c.id)
		case stateIsolated.String():
			h.lg.log("WARN", "node %d lost its majority: its writes are held until its leadership moves", h.c.id)
		case stateOut.String():
			h.lg.log("WARN", "node %d has no majority: it may not lead", h.c.id)
		default:
			h.lg.log("WARN", "node %d: the backend %s", h.c.id, state)
		}
	}
}
