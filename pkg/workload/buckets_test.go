package workload

import (
	"reflect"
	"testing"
	"time"
)

func TestLatencyBuckets(t *testing.T) {
	if b := NewLatency().Buckets(); b != nil {
		t.Errorf("empty histogram: %v", b)
	}
	l := NewLatency()
	for _, d := range []time.Duration{
		700 * time.Microsecond, 1 * time.Millisecond, // ≤ 1 ms: 1 ms is the bound, inclusive
		1500 * time.Microsecond, 1900 * time.Microsecond, 2 * time.Millisecond, // ≤ 2 ms
		40 * time.Millisecond, // ≤ 50 ms, after two empty buckets
		20 * time.Minute,      // beyond the range: clamped into the last bucket
	} {
		l.Record(d)
	}
	want := []Bucket{
		{time.Millisecond, 2}, {2 * time.Millisecond, 3}, {5 * time.Millisecond, 0},
		{10 * time.Millisecond, 0}, {20 * time.Millisecond, 0}, {50 * time.Millisecond, 1},
	}
	got := l.Buckets()
	if len(got) < len(want) || !reflect.DeepEqual(got[:len(want)], want) {
		t.Fatalf("buckets = %v, want %v then up to 10m", got, want)
	}
	last := got[len(got)-1]
	if last != (Bucket{10 * time.Minute, 1}) {
		t.Errorf("last bucket = %v, want the clamped observation at the 10m bound", last)
	}
	var n int64
	for _, b := range got {
		n += b.Count
	}
	if n != l.Count() {
		t.Errorf("buckets hold %d observations, the histogram %d", n, l.Count())
	}
	for i := 1; i < len(bucketBounds); i++ {
		if bucketBounds[i] <= bucketBounds[i-1] {
			t.Fatalf("bounds not ascending: %v", bucketBounds)
		}
	}
	if bucketBounds[0] != 50*time.Microsecond {
		t.Errorf("first bound %v", bucketBounds[0])
	}
}
