package cluster

import (
	"slices"
	"strings"
	"testing"
)

// An advertised address replaces the broker's own in metadata, and stays
// through a kill and start of the node and a restart of the whole cluster.
func TestAdvertise(t *testing.T) {
	e := startTest(t, 2)
	own := e.Bootstrap()
	if err := e.Advertise(1, "127.0.0.1:40002"); err != nil {
		t.Fatal(err)
	}
	want := []string{own[0], "127.0.0.1:40002"}
	if got := e.Kfake().ListenAddrs(); !slices.Equal(got, want) {
		t.Fatalf("advertised %v, want %v", got, want)
	}
	do(t, e, OpKill, 0)
	do(t, e, OpStart, 0)
	do(t, e, OpKill, 1)
	do(t, e, OpStart, 1) // node 1 is kfake's controller: the whole cluster restarts
	got := e.Kfake().ListenAddrs()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after restarts advertised %v, want %v", got, want)
	}
	if e.Bootstrap()[1] != own[1] {
		t.Errorf("Bootstrap %v: the broker still listens at %s", e.Bootstrap(), own[1])
	}
	for _, tc := range []struct {
		id   int32
		addr string
		want string
	}{
		{5, "127.0.0.1:1", "the embedded cluster has nodes [0 1]"},
		{0, "nowhere", `advertise "nowhere" for node 0`},
	} {
		if err := e.Advertise(tc.id, tc.addr); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Advertise(%d, %q) = %v, want %q", tc.id, tc.addr, err, tc.want)
		}
	}
}
