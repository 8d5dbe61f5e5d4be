package testbroker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// registerTimeout bounds a registration's answer (the backend may first wait
// for this broker's previous node to be gone) and a leave.
const registerTimeout = 30 * time.Second

// startProxy listens on c.listen, registers with the backend as broker
// c.index and forwards every connection to that broker. The registration
// stays open while the node lives: its end tells the backend the node is
// gone (see Backend).
func startProxy(c *config, lg *logger) (*node, error) {
	// Listening first: once registered, the backend advertises c.advertise
	// (c.listen, or a proxy in front of it).
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return nil, err
	}
	var hb *heartbeats
	if c.raftListen != "" {
		if hb, err = listenHeartbeats(c, lg); err != nil {
			_ = ln.Close()
			return nil, err
		}
	}
	reg, err := register(c)
	if err != nil {
		_ = ln.Close()
		if hb != nil {
			_ = hb.ln.Close()
		}
		return nil, err
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				forward(conn, reg.target, done)
			}()
		}
	}()
	lg.log("INFO", "node %d serving Kafka on %s (proxy to broker %d of the backend at %s)", c.id, c.listen, c.index, reg.target)
	if hb != nil {
		hb.start()
	}
	stop := func(graceful bool) {
		if graceful {
			if what, err := leave(c); err != nil {
				lg.log("WARN", "node %d could not tell the backend it leaves: %v", c.id, err)
			} else {
				lg.log("INFO", "node %d left the backend: %s", c.id, what)
			}
		}
		if hb != nil {
			hb.stop()
		}
		reg.close()
		_ = ln.Close()
		close(done)
		wg.Wait()
	}
	return &node{lost: reg.lost, stop: stop}, nil
}

// registration is a node's open registration with its backend.
type registration struct {
	target string       // the broker's own address, to forward to
	lost   <-chan error // why the backend ended the registration
	close  func()       // ends the registration (the backend then takes the broker down unless it left)
}

// register tells the backend that broker c.index is reached at c.advertise and
// keeps the registration open until close is called.
func register(c *config) (*registration, error) {
	q := url.Values{"index": {strconv.Itoa(c.index)}, "addr": {c.advertise}}
	if c.raftListen != "" {
		q.Set("member", "1") // judged by its heartbeats (membership.go)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.backend, "/")+"/register?"+q.Encode(), nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("register with the backend: %w", err)
	}
	tr := &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext, ResponseHeaderTimeout: registerTimeout}
	client := &http.Client{Transport: tr} // no overall timeout: the answer lasts as long as the node
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("register with the backend: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("register with the backend: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	br := bufio.NewReader(resp.Body)
	timer := time.AfterFunc(registerTimeout, cancel)
	line, err := br.ReadString('\n')
	timer.Stop()
	if err != nil {
		_ = resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("register with the backend: no broker address in its answer: %w", err)
	}
	lost := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, br)
		if ctx.Err() != nil {
			return // ended by close
		}
		if err == nil {
			err = errors.New("the backend ended the registration")
		}
		lost <- err
	}()
	return &registration{
		target: strings.TrimSpace(line),
		lost:   lost,
		close: func() {
			cancel()
			_ = resp.Body.Close()
			tr.CloseIdleConnections()
		},
	}, nil
}

// leave tells the backend that broker c.index's node shuts down, so that
// the backend moves its leadership away first, and returns what it did.
func leave(c *config) (string, error) {
	q := url.Values{"index": {strconv.Itoa(c.index)}, "addr": {c.advertise}}
	client := &http.Client{Timeout: registerTimeout, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	resp, err := client.Post(strings.TrimSuffix(c.backend, "/")+"/leave?"+q.Encode(), "text/plain", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return strings.TrimSpace(string(body)), nil
}

// forward copies bytes both ways between conn and target until either side
// closes or done is closed.
func forward(conn net.Conn, target string, done <-chan struct{}) {
	defer conn.Close()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	finished := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, conn); finished <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); finished <- struct{}{} }()
	select {
	case <-finished:
	case <-done:
	}
}
