package main

import (
	"net"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdGarbage listens on a free port of 127.0.0.1 until the script ends and
// answers whatever each connection sends with TEXT, then waits for the
// client to hang up: a broker that speaks something other than Kafka. It
// sets $NAME to the listener's host:port.
//
//	garbage NAME TEXT
func cmdGarbage(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: garbage NAME TEXT")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	ts.Defer(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 4096)
				if _, err := c.Read(buf); err != nil {
					return
				}
				_, _ = c.Write([]byte(args[1]))
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	ts.Setenv(args[0], ln.Addr().String())
}
