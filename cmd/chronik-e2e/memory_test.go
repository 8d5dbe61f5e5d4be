package main

import (
	"runtime/debug"
	"testing"
)

// tuneGC lowers the GC percent only for ledgers over gcHeadroom, keeps the
// headroom about gcHeadroom, never goes below 10%, and leaves a GOGC the
// user set alone.
func TestTuneGC(t *testing.T) {
	for _, tt := range []struct {
		name     string
		gogc     string
		messages int
		want     int
	}{
		{"small run", "", 1_000_000, 100},       // 16 MB ledger
		{"at the headroom", "", 2_097_152, 100}, // 32 MiB ledger
		{"8 million", "", 8_000_000, 26},        // 128 MB ledger: 32 MiB is 26%
		{"10 million", "", 10_000_000, 20},      // 160 MB ledger: 20%
		{"100 million", "", 100_000_000, 10},    // 1.6 GB ledger: 2%, the floor
		{"GOGC set", "50", 100_000_000, 100},    // left alone
		{"GOGC off", "off", 10_000_000, 100},    // left alone too
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			old := debug.SetGCPercent(100)
			defer debug.SetGCPercent(old)
			tuneGC(tt.messages)
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Errorf("tuneGC(%d) with GOGC=%q: GC percent %d, want %d", tt.messages, tt.gogc, got, tt.want)
			}
		})
	}
}
