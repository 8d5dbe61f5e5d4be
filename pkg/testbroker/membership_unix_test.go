//go:build unix

package testbroker

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestHelperBroker is not a test: started as a node (see startProcess), the
// test binary runs the test broker with the arguments after "--".
func TestHelperBroker(t *testing.T) {
	ServeIfHelper(flag.Args())
	t.Skip("runs only as a spawned node")
}

// startProcess starts a test broker process with args; it is killed (and
// continued first, if stopped) with the test.
func startProcess(t *testing.T, args ...string) *os.Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperBroker$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), HelperEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process
}

// A node paused with SIGSTOP reports nothing and pings nobody: its view goes
// stale, it loses its majority and its leadership moves; continued, it
// leads its partition again.
func TestMembershipPausedNode(t *testing.T) {
	b, err := StartBackend(3, WithMembership(MembershipHealthy, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	mc := &memberCluster{b: b}
	var raft []string
	for range 3 {
		mc.addrs = append(mc.addrs, freeAddr(t))
		raft = append(raft, freeAddr(t))
	}
	var procs []*os.Process
	for i := range 3 {
		var peers []string
		for j := range 3 {
			peers = append(peers, fmt.Sprintf("%d=%s", j+1, raft[j])) // its own entry is skipped
		}
		procs = append(procs, startProcess(t, "--listen", mc.addrs[i], "--id", strconv.Itoa(i+1), "--backend", b.URL(), "--index", strconv.Itoa(i),
			"--raft-listen", raft[i], "--peers", strings.Join(peers, ",")))
	}
	for i := range 3 {
		waitEvent(t, b, fmt.Sprintf("membership: broker %d has a majority", i))
	}
	mc.cl, err = kgo.NewClient(kgo.SeedBrokers(mc.addrs[1:]...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mc.cl.Close)
	if _, err := kadm.NewClient(mc.cl).CreateTopic(context.Background(), 3, 3, nil, "t"); err != nil {
		t.Fatal(err)
	}
	mc.waitLeader(t, 0, 0)

	if err := procs[0].Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, "membership: broker 0 lost its majority (") // hearing itself only or nobody: its view and its peers' go stale together
	waitEvent(t, b, "moved the leadership of 1 partition(s) off it")
	mc.waitLeader(t, 0, 1)
	if err := procs[0].Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, "it may lead; led 1 partition(s) back (preferred leaders)")
	mc.waitLeader(t, 0, 0)
}
