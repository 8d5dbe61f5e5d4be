package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
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
	if pct := gcPercent(messages); pct != 100 {
		debug.SetGCPercent(pct)
	}
}

// gcPercent is the GC percent tuneGC sets for a run of messages (100, Go's
// default, for a ledger within gcHeadroom).
func gcPercent(messages int) int {
	ledger := int64(messages) * int64(verify.BytesPerMessage())
	if ledger <= gcHeadroom {
		return 100
	}
	return int(max(10, 100*gcHeadroom/ledger))
}

// Constants of the memory estimate, measured on runs of the embedded
// cluster (TestMemoryEstimate checks the estimate against a real run).
const (
	// runtimeBytes is what the process holds besides the run's data: the Go
	// runtime, the clients, the embedded brokers' goroutines and buffers.
	runtimeBytes = 40 << 20
	// keyBytes is one key in memory: "key-N", its slice header and allocation.
	keyBytes = 48
	// recordOverhead is what the embedded cluster holds per record besides
	// its key and value (the record's header in its batch); storedFactor is
	// how many times the key and value are held at once, on average (the
	// broker's batch, and the fetched copies the consumer reads).
	recordOverhead = 14
	storedFactor   = 1.3
	// The produce scenario's window of values in flight per producer
	// (pkg/scenarios, producer.go): 16 MiB over all producers, at least
	// 16 and at most 4096 values each.
	windowBytes     = 16 << 20
	windowMinValues = 16
	windowMaxValues = 4096
)

// runNeeds is what a run of a profile needs of the machine, estimated
// before it starts.
type runNeeds struct {
	Ledger, Keys, Window, Embedded int64 // live bytes
	Heap                           int64 // every live byte above
	Memory                         int64 // the process's peak: runtime + heap with the GC's headroom
	FDs                            int   // file descriptors open at once
}

// estimateRun estimates the memory and file descriptors a run of p needs.
func estimateRun(p *profile.Profile) runNeeds {
	w := p.Workload
	n := runNeeds{
		Ledger: int64(w.Messages) * int64(verify.BytesPerMessage()),
		Keys:   int64(w.Keys) * keyBytes,
	}
	perProducer := min(windowMaxValues, max(windowMinValues, windowBytes/max(1, w.ValueBytes)/max(1, w.Producers)))
	n.Window = int64(w.Producers) * int64(perProducer) * int64(w.ValueBytes)
	clients := w.Producers + 8 // the producers, consumers, admin and metadata clients, fault scenarios' own
	switch p.Cluster.Mode {
	case profile.ModeEmbedded:
		record := float64(w.ValueBytes+len(workload.Key(uint32(w.Keys-1)))) * storedFactor
		n.Embedded = int64(w.Messages) * (int64(record) + recordOverhead)
		// Each broker listens; each client connects to each broker, and
		// both ends of a connection are in this process.
		n.FDs = 64 + p.Cluster.Nodes*(1+2*clients)
	case profile.ModeSpawn:
		n.FDs = 64 + p.Cluster.Nodes*(3+clients) // each node's log pipes, and connections
	default:
		n.FDs = 64 + p.Cluster.Nodes*clients
	}
	n.Heap = n.Ledger + n.Keys + n.Window + n.Embedded
	pct := int64(gcPercent(w.Messages))
	if env := os.Getenv("GOGC"); env != "" {
		if v, err := strconv.Atoi(env); err == nil && v > 0 {
			pct = int64(v)
		}
	}
	n.Memory = runtimeBytes + n.Heap + n.Heap*pct/100
	return n
}

// checkResources fails, as bad usage (exit 2) before anything starts, a run
// of p that needs more memory than the machine has available or more file
// descriptors than the process may open, naming the estimate and the limit.
func checkResources(p *profile.Profile) error {
	avail, from := availableMemory()
	return judgeResources(p, estimateRun(p), avail, from, fdLimit())
}

// judgeResources fails a run of p that needs (n) more than avail bytes of
// memory (from says where that figure comes from) or more than fds file
// descriptors; a limit of 0 is unknown and not checked.
func judgeResources(p *profile.Profile, n runNeeds, avail int64, from string, fds uint64) error {
	if avail > 0 && n.Memory > avail {
		parts := []string{fmt.Sprintf("ledger %s (%d B × %d messages)", sizeOf(n.Ledger), verify.BytesPerMessage(), p.Workload.Messages)}
		if n.Embedded > 0 {
			parts = append(parts, fmt.Sprintf("the embedded cluster's data %s", sizeOf(n.Embedded)))
		}
		parts = append(parts, fmt.Sprintf("keys %s", sizeOf(n.Keys)), fmt.Sprintf("produce window %s", sizeOf(n.Window)),
			fmt.Sprintf("runtime %s, and the garbage collector's headroom", sizeOf(runtimeBytes)))
		return &exitcode.Error{Code: exitcode.Usage,
			Err: fmt.Errorf("the run needs about %s of memory (%s), more than the %s available (%s)",
				sizeOf(n.Memory), strings.Join(parts, "; "), sizeOf(avail), from),
			Hint: "lower workload.messages (--messages), workload.value_bytes or workload.keys, or run on a machine with more memory"}
	}
	if limit := fds; limit > 0 && uint64(n.FDs) > limit {
		return &exitcode.Error{Code: exitcode.Usage,
			Err: fmt.Errorf("the run needs about %d file descriptors (%d node(s), %d producer(s)), more than the limit of %d (ulimit -n)",
				n.FDs, p.Cluster.Nodes, p.Workload.Producers, limit),
			Hint: "lower cluster.nodes (--nodes) or workload.producers, or raise the limit with ulimit -n"}
	}
	return nil
}

// availableMemory returns the memory a run may use and where that figure
// comes from: the least of MemAvailable and the cgroup's memory.max less
// its memory.current; 0 when neither is known (not Linux).
func availableMemory() (int64, string) {
	var avail int64
	var from string
	if kb := meminfo("MemAvailable"); kb > 0 {
		avail, from = kb<<10, "MemAvailable in /proc/meminfo"
	}
	if limit, ok := readInt("/sys/fs/cgroup/memory.max"); ok {
		used, _ := readInt("/sys/fs/cgroup/memory.current")
		if left := limit - used; avail == 0 || left < avail {
			avail, from = left, "the cgroup's memory.max less memory.current"
		}
	}
	return avail, from
}

// meminfo returns a field of /proc/meminfo in kB, or 0.
func meminfo(field string) int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err == nil {
			return v
		}
	}
	return 0
}

// readInt reads a file holding one integer ("max" is not one).
func readInt(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}

// sizeOf writes n bytes as "1.5 GB", "120 MB" or "900 kB".
func sizeOf(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f kB", float64(n)/1e3)
}
