package cluster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
)

// loopbackHost is the host every spawned or embedded port is on.
const loopbackHost = "127.0.0.1"

// usedPort is a fixed port something else already listens on.
type usedPort struct {
	port int
	what string // e.g. "health of node 1"
	err  error
}

// checkFree tries to listen on each fixed port of 127.0.0.1 and returns
// the ones that are taken. what names each port for the error.
func checkFree(ports []int, what func(i int) string) []usedPort {
	var used []usedPort
	for i, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(loopbackHost, strconv.Itoa(p)))
		if err != nil {
			used = append(used, usedPort{port: p, what: what(i), err: err})
			continue
		}
		_ = ln.Close()
	}
	return used
}

// portsInUse is the exit-3 error for fixed ports that are taken.
func portsInUse(used []usedPort, setting string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d fixed port(s) are in use on %s, so the cluster cannot start:", len(used), loopbackHost)
	var ports []string
	for _, u := range used {
		reason := u.err.Error()
		var op *net.OpError
		if errors.As(u.err, &op) && op.Err != nil {
			reason = op.Err.Error()
		}
		fmt.Fprintf(&b, "\n  %d (%s): %s", u.port, u.what, reason)
		ports = append(ports, ":"+strconv.Itoa(u.port))
	}
	return exitcode.ClusterError(errors.New(b.String()),
		fmt.Sprintf("stop what listens there (ss -ltnp shows it: %s), or change %s", strings.Join(ports, " "), setting))
}

// planPorts gives each of count nodes a port for every name: base+index
// for the names in bases, a free port of 127.0.0.1 for the others. The free
// ports are held open until all are chosen, so no two are the same; a
// process may still take one before the node binds it, which listenFree
// makes unlikely by choosing below the kernel's ephemeral range. inUse is the exit-3
// error for fixed ports that are taken, or nil; err is any other failure.
func planPorts(count int, names []string, bases map[string]int) (plan []map[string]int, inUse, err error) {
	plan = make([]map[string]int, count)
	var fixed []int
	var what []string
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			_ = ln.Close()
		}
	}()
	for i := range plan {
		plan[i] = map[string]int{}
		for _, name := range names {
			if base, ok := bases[name]; ok {
				plan[i][name] = base + i
				fixed = append(fixed, base+i)
				what = append(what, fmt.Sprintf("%s of node %d", name, i+1))
				continue
			}
			ln, err := listenFree()
			if err != nil {
				return nil, nil, exitcode.ClusterError(fmt.Errorf("no free port on %s for %s of node %d: %w", loopbackHost, name, i+1, err), "")
			}
			held = append(held, ln)
			plan[i][name] = ln.Addr().(*net.TCPAddr).Port
		}
	}
	if used := checkFree(fixed, func(i int) string { return what[i] }); len(used) > 0 {
		inUse = portsInUse(used, "cluster.spawn.port_bases")
	}
	return plan, inUse, nil
}

// StartEmbeddedPorts starts an embedded cluster with one broker on each of
// ports of 127.0.0.1 (cluster.ports), its data on disk when durable. A port
// already in use is an exit-3 error naming it, before any broker starts.
func StartEmbeddedPorts(ports []int, durable bool) (*Embedded, error) {
	used := checkFree(ports, func(i int) string { return fmt.Sprintf("broker %d", i) })
	if len(used) > 0 {
		return nil, portsInUse(used, "cluster.ports")
	}
	start := StartEmbedded
	if durable {
		start = StartEmbeddedDurable
	}
	e, err := start(len(ports), kfake.Ports(ports...))
	if err != nil {
		return nil, exitcode.ClusterError(err, "")
	}
	return e, nil
}

// listenFree listens on a free port of 127.0.0.1 chosen at random below the
// kernel's ephemeral port range, where no client connection and no
// listener on port 0 (such as an embedded cluster's) can take it between
// now and the moment a node binds it; it falls back to port 0.
func listenFree() (net.Listener, error) {
	low, high := 20000, ephemeralLow()-1
	for range 50 {
		if high <= low {
			break
		}
		p := low + rand.IntN(high-low+1)
		if ln, err := net.Listen("tcp", net.JoinHostPort(loopbackHost, strconv.Itoa(p))); err == nil {
			return ln, nil
		}
	}
	return net.Listen("tcp", net.JoinHostPort(loopbackHost, "0"))
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux
// /proc/sys/net/ipv4/ip_local_port_range), or 32768 where it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 32768
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil || low < 1024 {
		return 32768
	}
	return low
}
