package scenarios

import (
	"maps"
	"strings"
	"testing"
)

// A placement hook's output: bare partition numbers (as ls prints a WAL
// directory, on lines or on one), or a partition with records=N and
// bytes=N; anything else is an error naming the line.
func TestParsePlacement(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want holding
		err  string
	}{
		{"", holding{}, ""},
		{"0\n1\n2\n", holding{0: -1, 1: -1, 2: -1}, ""},
		{"0 1 2", holding{0: -1, 1: -1, 2: -1}, ""},
		{"0 records=334 bytes=40000\n\n2 bytes=10\n", holding{0: 334, 2: -1}, ""},
		{"0 records=x", nil, `line "0 records=x": "records=x" is not records=N or bytes=N`},
		{"wal.lock", nil, `line "wal.lock": want a partition number first`},
		{"1 size=3", nil, `"size=3" is not records=N or bytes=N`},
	} {
		got, err := parsePlacement(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parsePlacement(%q) error %v, want %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || !maps.Equal(got, tc.want)):
			t.Errorf("parsePlacement(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if got := (holding{2: -1, 0: 334}).String(); got != "partitions 0 (334 records), 2" {
		t.Errorf("String() = %q", got)
	}
}

// A follower compared with its leader: the offsets it lacks and those
// where it holds another record, as ranges.
func TestCompareReplica(t *testing.T) {
	leader := replicaRecords{0: 1, 1: 2, 2: 3, 3: 4, 5: 6}
	follower := replicaRecords{0: 1, 1: 9, 3: 4, 7: 8} // 7: beyond the leader's, not judged
	missing, differ := compareReplica(leader, follower)
	if got := offsetRanges(missing); got != "2, 5" {
		t.Errorf("missing %s, want 2, 5", got)
	}
	if got := offsetRanges(differ); got != "1" {
		t.Errorf("differ %s, want 1", got)
	}
	if got := offsetRanges([]int64{0, 1, 2, 4, 6, 7}); got != "0-2, 4, 6-7" {
		t.Errorf("offsetRanges = %q", got)
	}
	if recordHash([]byte("k"), []byte("v")) == recordHash([]byte("kv"), nil) {
		t.Errorf("a key and value hash like their concatenation")
	}
}
