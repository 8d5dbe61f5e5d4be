package main

import (
	"os"
	"runtime/debug"

	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

// gcHeadroom is about how much garbage the heap may hold beyond what is live
// during a run with a large ledger.
const gcHeadroom = 32 << 20

// tuneGC bounds the garbage collector's headroom for runs with a large
// ledger. By default Go lets the heap grow to twice what is live, and the
// ledger (16 bytes a message, kept for the whole run) is nearly all that is
// live, so a 10,000,000-message run would grow to twice its 160 MB ledger.
// With a ledger larger than gcHeadroom the GC percent is lowered so that the
// headroom stays about gcHeadroom. That costs little CPU: the ledger holds no
// pointers, so a collection does not scan it, however often it runs. A GOGC
// set in the environment is left alone.
func tuneGC(messages int) {
	if os.Getenv("GOGC") != "" {
		return
	}
	ledger := int64(messages) * int64(verify.BytesPerMessage())
	if ledger <= gcHeadroom {
		return
	}
	debug.SetGCPercent(int(max(10, 100*gcHeadroom/ledger)))
}
