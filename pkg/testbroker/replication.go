package testbroker

// Replication modes of a Backend. kfake keeps one copy of the data and lists
// as replicas, and as in-sync replicas, only the brokers that are up, so by
// itself it can neither show an honest ISR nor lie about one. With a
// replication mode, each broker of the backend is reached through a front:
// a forwarder that reads the Kafka frames going by, rewrites the answers to
// Metadata requests (replicas: the partition's assignment, whatever is up;
// in-sync replicas: as the mode says) and counts, per node, the records of
// every acknowledged produce that node would physically hold. Placement
// answers what each node holds (GET /placement). Every replica serves
// fetches that carry a rack id (KIP-392, kfake's SetFollowers); in
// leader-only mode a follower answers them without the records it lacks,
// and OnFollowerFetch lets a test change what a replica serves. These
// modes stage the failures; the real check is against a real broker.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

// Replication is how a Backend shows replication.
type Replication string

// The replication modes.
const (
	// ReplicationKfake is kfake's own: replicas and in-sync replicas are
	// the brokers up, and there is no placement answer.
	ReplicationKfake Replication = ""
	// ReplicationHealthy lists the assignment as replicas and only the
	// replicas up as in sync; every replica up holds every record, and a
	// node catches up the moment it starts again.
	ReplicationHealthy Replication = "healthy"
	// ReplicationISRLies is healthy data whose metadata never drops a dead
	// node from the in-sync replicas.
	ReplicationISRLies Replication = "isr-lies"
	// ReplicationLeaderOnly is Chronik's #29: a write with acks=1 or
	// acks=all stays on the leader that took it (acks=0 replicates), while
	// metadata lists every replica in sync. When a node goes down, the
	// records only it held are gone: the partition's records are deleted
	// up to its end (kfake cannot truncate), so what was acknowledged is
	// lost to the next leader.
	ReplicationLeaderOnly Replication = "leader-only"
)

// Replications are the modes by name, for flags.
var Replications = []Replication{ReplicationHealthy, ReplicationISRLies, ReplicationLeaderOnly}

// ParseReplication returns the mode called s ("" or "kfake": kfake's own).
func ParseReplication(s string) (Replication, error) {
	if s == "" || s == "kfake" {
		return ReplicationKfake, nil
	}
	if r := Replication(s); slices.Contains(Replications, r) {
		return r, nil
	}
	return "", fmt.Errorf("replication %q: want kfake, healthy, isr-lies or leader-only", s)
}

// BackendOption configures StartBackend.
type BackendOption func(*Backend)

// WithReplication makes the backend show replication as r says.
func WithReplication(r Replication) BackendOption { return func(b *Backend) { b.repl.mode = r } }

// replState is what the fronts know of replication, under its own lock (a
// node operation holds the backend's for long).
type replState struct {
	mode     Replication
	n        int
	front    []*front
	embedded *cluster.Embedded // to let every replica serve fetches (kfake's SetFollowers)
	member   *membership       // who may lead (membership.go)

	mu      sync.Mutex
	onFetch func(node int, topic string, partition int32, batches []byte) []byte
	down    []bool              // per broker: down (killed or stopped)
	rf      map[string]int      // per topic: its replication factor, from CreateTopics
	ids     map[[16]byte]string // topic names by id, from Metadata answers (Produce v13 names topics by id)
	data    map[string]*held    // per topic
}

// name returns the topic called name or with id.
func (r *replState) name(name string, id [16]byte) string {
	if name != "" {
		return name
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

// held is what each node holds of one topic's partitions.
type held struct {
	written map[int32]int64   // per partition: records acknowledged
	lacks   map[int32][]int64 // per partition, per node: of those, the records the node does not hold
}

// partition returns p's counts, creating them.
func (h *held) partition(p int32, n int) []int64 {
	if h.lacks[p] == nil {
		h.lacks[p] = make([]int64, n)
	}
	return h.lacks[p]
}

// replicas returns partition p's assignment on n brokers: its preferred
// leader (broker p mod n, as the backend places leaders) and the next rf-1.
func replicas(p int32, n, rf int) []int32 {
	out := make([]int32, 0, rf)
	for i := range min(rf, n) {
		out = append(out, int32((int(p)+i)%n))
	}
	return out
}

// startFronts starts a front per broker when the backend has a replication
// mode or a membership rule.
func (b *Backend) startFronts() error {
	r := &b.repl
	r.n = len(b.sessions)
	r.embedded = b.embedded
	r.member = &b.member
	r.down = make([]bool, r.n)
	r.rf, r.ids, r.data = map[string]int{}, map[[16]byte]string{}, map[string]*held{}
	if r.mode == ReplicationKfake && !b.member.on() {
		return nil
	}
	for i := range r.n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.closeFronts()
			return fmt.Errorf("front of broker %d: %w", i, err)
		}
		f := &front{r: r, index: i, ln: ln, target: b.embedded.Bootstrap()[i], conns: map[net.Conn]bool{}}
		r.front = append(r.front, f)
		go f.serve()
	}
	return nil
}

// closeFronts stops the fronts and cuts their connections.
func (b *Backend) closeFronts() {
	for _, f := range b.repl.front {
		f.close()
	}
}

// target returns the address node i's proxy forwards to.
func (b *Backend) target(i int) string {
	if f := b.repl.front; len(f) > 0 {
		return f[i].ln.Addr().String()
	}
	return b.embedded.Bootstrap()[i]
}

// nodeChanged tells the replication state that op was done to broker i;
// under b.mu. In leader-only mode, a node going down takes the records only
// it held: they are deleted from the cluster.
func (b *Backend) nodeChanged(op cluster.Op, i int) {
	r := &b.repl
	if r.mode == ReplicationKfake {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch op {
	case cluster.OpKill, cluster.OpStop:
		r.down[i] = true
		if r.mode != ReplicationLeaderOnly {
			return
		}
		kc := b.embedded.Kfake()
		for topic, h := range r.data {
			for p, lacks := range h.lacks {
				if !onlyOn(lacks, h.written[p], i) || kc == nil {
					continue
				}
				err := kc.DeleteRecords(topic, p, -1)
				b.event("leader-only replication: node %d went down holding %s partition %d alone: its %d record(s) deleted (lost to the next leader): %v",
					i, topic, p, h.written[p], errOrNone(err))
				h.written[p] = 0
				clear(lacks)
			}
		}
	case cluster.OpStart:
		r.down[i] = false
		for _, h := range r.data { // it catches up at once
			for _, lacks := range h.lacks {
				lacks[i] = 0
			}
		}
	}
}

// onlyOn reports whether broker i holds records of a partition that some
// other broker lacks: records that go with it.
func onlyOn(lacks []int64, written int64, i int) bool {
	if written == 0 || lacks[i] >= written {
		return false
	}
	for j, l := range lacks {
		if j != i && l > lacks[i] {
			return true
		}
	}
	return false
}

func errOrNone(err error) string {
	if err == nil {
		return "done"
	}
	return err.Error()
}

// produced counts an acknowledged write of records to topic partition p,
// taken by broker leader with acks.
func (r *replState) produced(topic string, p int32, records int64, leader int, acks int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.data[topic]
	if h == nil {
		h = &held{written: map[int32]int64{}, lacks: map[int32][]int64{}}
		r.data[topic] = h
	}
	lacks := h.partition(p, r.n)
	h.written[p] += records
	assigned := replicas(p, r.n, r.rfOf(topic))
	for i := range r.n {
		switch {
		case i == leader:
		case !slices.Contains(assigned, int32(i)): // not a replica: holds none of it
			lacks[i] += records
		case r.down[i]:
			lacks[i] += records
		case r.mode == ReplicationLeaderOnly && acks != 0:
			lacks[i] += records
		}
	}
}

// rfOf returns topic's replication factor; under r.mu.
func (r *replState) rfOf(topic string) int {
	if rf, ok := r.rf[topic]; ok && rf > 0 {
		return min(rf, r.n)
	}
	return min(3, r.n) // kfake's default
}

// rewrite makes a metadata answer show the assignment as replicas and, as
// in-sync replicas, what the mode says; under a membership rule, a
// partition led by a broker that may not lead has no leader, and in the
// healthy mode such a broker (cut off from its leaders) is not in sync.
func (r *replState) rewrite(resp *kmsg.MetadataResponse) {
	defer r.member.leaderless(resp)
	out := r.member.outOf() // not in sync either, when healthy
	r.mu.Lock()
	defer r.mu.Unlock()
	for ti := range resp.Topics {
		t := &resp.Topics[ti]
		if t.Topic == nil {
			continue
		}
		r.ids[t.TopicID] = *t.Topic
		if r.mode == ReplicationKfake {
			continue
		}
		rf := r.rfOf(*t.Topic)
		for pi := range t.Partitions {
			p := &t.Partitions[pi]
			if p.ErrorCode != 0 && p.Leader < 0 {
				continue
			}
			p.Replicas = replicas(p.Partition, r.n, rf)
			p.ISR, p.OfflineReplicas = nil, nil
			for _, id := range p.Replicas {
				if r.down[id] {
					p.OfflineReplicas = append(p.OfflineReplicas, id)
				}
				if (!r.down[id] && (out == nil || !out[id])) || r.mode != ReplicationHealthy {
					p.ISR = append(p.ISR, id)
				}
			}
			if r.mode != ReplicationHealthy {
				p.OfflineReplicas = nil // the lie: nothing is offline
			}
		}
	}
}

// placement answers GET /placement?index=I&topic=T: one line per partition
// of T that node I holds records of, "PARTITION records=N".
func (b *Backend) placement(w http.ResponseWriter, req *http.Request) {
	r := &b.repl
	i, err := strconv.Atoi(req.URL.Query().Get("index"))
	if err != nil || i < 0 || i >= len(b.sessions) {
		http.Error(w, fmt.Sprintf("index %q: want 0..%d", req.URL.Query().Get("index"), len(b.sessions)-1), http.StatusBadRequest)
		return
	}
	if r.mode == ReplicationKfake {
		http.Error(w, "this backend has no replication mode: its brokers share one copy of the data, so no node holds anything of its own (start it with a replication mode)", http.StatusNotImplemented)
		return
	}
	topic := req.URL.Query().Get("topic")
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.data[topic]
	if h == nil {
		return // nothing written: nothing held
	}
	ps := make([]int32, 0, len(h.written))
	for p := range h.written {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(a, c int) bool { return ps[a] < ps[c] })
	for _, p := range ps {
		if n := h.written[p] - h.partition(p, r.n)[i]; n > 0 {
			fmt.Fprintf(w, "%d records=%d\n", p, n)
		}
	}
}

// front forwards the connections to one broker, reading the frames.
type front struct {
	r      *replState
	index  int
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

func (f *front) close() {
	_ = f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for c := range f.conns {
		_ = c.Close()
	}
}

// track adds c to the connections Close cuts; false when closed already.
func (f *front) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		_ = c.Close()
		return false
	}
	f.conns[c] = true
	return true
}

func (f *front) untrack(c net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
	_ = c.Close()
}

func (f *front) serve() {
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.forward(conn)
	}
}

// pendingReq is a request whose answer the front reads.
type pendingReq struct {
	key, version int16
	produce      *kmsg.ProduceRequest
	create       *kmsg.CreateTopicsRequest
	// own is the front's own answer, given in place of the broker's after
	// wait (a write held by the membership rule, membership.go).
	own  *kmsg.ProduceResponse
	wait time.Duration
}

// forward carries one connection to the broker and back, frame by frame.
func (f *front) forward(conn net.Conn) {
	if !f.track(conn) {
		return
	}
	defer f.untrack(conn)
	up, err := net.DialTimeout("tcp", f.target, 5*time.Second)
	if err != nil {
		return
	}
	if !f.track(up) {
		return
	}
	defer f.untrack(up)
	var mu sync.Mutex
	pending := map[int32]pendingReq{}
	done := make(chan struct{}, 2)
	// The client's requests are read ahead of the broker, each stamped
	// with when it came: an acks=all write under a membership rule waits
	// for a majority heard since then, and the writes queued behind it
	// wait for the same heartbeats, not for theirs in turn.
	type arrival struct {
		frame []byte
		at    time.Time
	}
	frames := make(chan arrival, 16)
	quit := make(chan struct{})
	defer close(quit)
	go func() { // client
		defer close(frames)
		for {
			frame, err := readFrame(conn)
			if err != nil {
				return
			}
			select {
			case frames <- arrival{frame, time.Now()}:
			case <-quit:
				return
			}
		}
	}()
	go func() { // -> broker
		defer func() { done <- struct{}{} }()
		for a := range frames {
			frame := a.frame
			committed := f.awaitCommit(frame, a.at)
			f.r.member.gate.RLock() // a rejoining leader's orphans go first (membership.go)
			corr, req, ok, out := f.request(frame, committed)
			if ok {
				mu.Lock()
				pending[corr] = req
				mu.Unlock()
			}
			if out != nil {
				_, err = up.Write(out)
			}
			f.r.member.gate.RUnlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { // broker -> client
		defer func() { done <- struct{}{} }()
		for {
			frame, err := readFrame(up)
			if err != nil {
				return
			}
			if len(frame) >= 8 {
				corr := int32(binary.BigEndian.Uint32(frame[4:8]))
				mu.Lock()
				req, ok := pending[corr]
				delete(pending, corr)
				mu.Unlock()
				if ok {
					frame = f.answer(req, frame)
				}
			}
			if _, err := conn.Write(frame); err != nil {
				return
			}
		}
	}()
	<-done
}

// maxFrame bounds a frame the front reads.
const maxFrame = 256 << 20

// readFrame reads one size-prefixed Kafka frame, the size included.
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	frame := make([]byte, 4+n)
	copy(frame, size[:])
	_, err := io.ReadFull(r, frame[4:])
	return frame, err
}

// request reads a request frame: it notes the replication factor of the
// topics created, returns the requests whose answers the front reads
// (Metadata, Produce) and what to send the broker: the frame, nothing (an
// acks=0 write held by the membership rule) or, for a write the front
// answers itself, an ApiVersions request in its place. An acks=all write
// that no majority acknowledged (committed false, membership.go) times out.
func (f *front) request(frame []byte, committed bool) (int32, pendingReq, bool, []byte) {
	if len(frame) < 12 {
		return 0, pendingReq{}, false, frame
	}
	key := int16(binary.BigEndian.Uint16(frame[4:6]))
	version := int16(binary.BigEndian.Uint16(frame[6:8]))
	corr := int32(binary.BigEndian.Uint32(frame[8:12]))
	switch key {
	case kmsg.Metadata.Int16():
		return corr, pendingReq{key: key, version: version}, true, frame
	case kmsg.Produce.Int16():
		req := kmsg.NewPtrProduceRequest()
		if requestBody(frame, req, version) != nil {
			return 0, pendingReq{}, false, frame
		}
		if st := f.r.member.stateOf(f.index); st != stateIn || !committed {
			own, wait := timedOut(req), time.Duration(0)
			if st != stateIn {
				own, wait = f.hold(req, st)
			}
			if req.Acks == 0 {
				return 0, pendingReq{}, false, nil
			}
			return corr, pendingReq{key: key, version: version, own: own, wait: wait}, true, apiVersionsFrame(corr)
		}
		if req.Acks == 0 {
			// acks=0 has no answer: counted now, as taken.
			f.produced(req, nil)
			return 0, pendingReq{}, false, frame
		}
		return corr, pendingReq{key: key, version: version, produce: req}, true, frame
	case kmsg.CreateTopics.Int16():
		req := kmsg.NewPtrCreateTopicsRequest()
		if requestBody(frame, req, version) == nil && !req.ValidateOnly {
			f.r.mu.Lock()
			for _, t := range req.Topics {
				f.r.rf[t.Topic] = int(t.ReplicationFactor)
			}
			f.r.mu.Unlock()
			return corr, pendingReq{key: key, version: version, create: req}, true, frame
		}
	case kmsg.Fetch.Int16():
		// A consumer's fetch with a rack id (KIP-392) may be served by a
		// follower: its answer shows what the follower holds.
		req := kmsg.NewPtrFetchRequest()
		if requestBody(frame, req, version) == nil && req.Rack != "" {
			return corr, pendingReq{key: key, version: version}, true, frame
		}
	}
	return 0, pendingReq{}, false, frame
}

// requestBody decodes the body of a request frame into req.
func requestBody(frame []byte, req kmsg.Request, version int16) error {
	req.SetVersion(version)
	b := frame[12:]
	if len(b) < 2 {
		return errors.New("short header")
	}
	if idLen := int16(binary.BigEndian.Uint16(b)); idLen > 0 {
		b = b[2+int(idLen):]
	} else {
		b = b[2:]
	}
	if req.IsFlexible() {
		var err error
		if b, err = skipTags(b); err != nil {
			return err
		}
	}
	return req.ReadFrom(b)
}

// skipTags skips a tagged-field section.
func skipTags(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, errors.New("bad tag count")
	}
	b = b[k:]
	for range n {
		_, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errors.New("bad tag")
		}
		b = b[k:]
		size, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < size {
			return nil, errors.New("bad tag size")
		}
		b = b[k+int(size):]
	}
	return b, nil
}

// answer reads an answer frame to req: a Metadata answer is rewritten, a
// Produce answer counted, and one the front answers itself replaced.
func (f *front) answer(req pendingReq, frame []byte) []byte {
	if req.own != nil {
		time.Sleep(req.wait)
		return answerFrame(int32(binary.BigEndian.Uint32(frame[4:8])), req.own)
	}
	var resp kmsg.Response
	switch req.key {
	case kmsg.Metadata.Int16():
		resp = kmsg.NewPtrMetadataResponse()
	case kmsg.Produce.Int16():
		resp = kmsg.NewPtrProduceResponse()
	case kmsg.CreateTopics.Int16():
		resp = kmsg.NewPtrCreateTopicsResponse()
	default:
		resp = kmsg.NewPtrFetchResponse()
	}
	resp.SetVersion(req.version)
	header := 8 // size, correlation id
	if resp.IsFlexible() {
		rest, err := skipTags(frame[8:])
		if err != nil {
			return frame
		}
		header = len(frame) - len(rest)
	}
	if err := resp.ReadFrom(frame[header:]); err != nil {
		return frame
	}
	switch r := resp.(type) {
	case *kmsg.MetadataResponse:
		f.r.rewrite(r)
		out := r.AppendTo(append([]byte(nil), frame[:header]...))
		binary.BigEndian.PutUint32(out, uint32(len(out)-4))
		return out
	case *kmsg.ProduceResponse:
		f.produced(req.produce, r)
	case *kmsg.CreateTopicsResponse:
		f.r.serveFollowers(req.create, r)
	case *kmsg.FetchResponse:
		if f.r.strip(r, f.index) {
			out := r.AppendTo(append([]byte(nil), frame[:header]...))
			binary.BigEndian.PutUint32(out, uint32(len(out)-4))
			return out
		}
	}
	return frame
}

// serveFollowers lets every replica of the topics created serve fetches,
// as a cluster serving KIP-392 follower fetching does.
func (r *replState) serveFollowers(req *kmsg.CreateTopicsRequest, resp *kmsg.CreateTopicsResponse) {
	kc := r.embedded.Kfake()
	if kc == nil || r.mode == ReplicationKfake {
		return
	}
	for _, t := range resp.Topics {
		if t.ErrorCode != 0 {
			continue
		}
		n := t.NumPartitions
		if n <= 0 {
			for _, rt := range req.Topics {
				if rt.Topic == t.Topic {
					n = rt.NumPartitions
				}
			}
		}
		r.mu.Lock()
		rf := r.rfOf(t.Topic)
		r.mu.Unlock()
		for p := range n {
			kc.SetFollowers(t.Topic, p, replicas(p, r.n, rf))
		}
	}
}

// strip empties, in the answer of broker i to a fetch with a rack id, the
// partitions whose records i does not hold (leader-only mode), and passes
// the rest through OnFollowerFetch; it reports whether it changed anything.
func (r *replState) strip(resp *kmsg.FetchResponse, i int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for ti := range resp.Topics {
		t := &resp.Topics[ti]
		name := t.Topic
		if name == "" {
			name = r.ids[t.TopicID]
		}
		h := r.data[name]
		for pi := range t.Partitions {
			p := &t.Partitions[pi]
			if len(p.RecordBatches) == 0 {
				continue
			}
			if h != nil && r.mode == ReplicationLeaderOnly {
				if lacks := h.lacks[p.Partition]; lacks != nil && lacks[i] > 0 {
					p.RecordBatches = []byte{} // empty, not null: sarama reads a null as a bad length
					changed = true
					continue
				}
			}
			if r.onFetch != nil {
				p.RecordBatches = r.onFetch(i, name, p.Partition, p.RecordBatches)
				changed = true
			}
		}
	}
	return changed
}

// OnFollowerFetch makes the backend pass the record batches of every
// answer to a fetch that carries a rack id (a replica read, KIP-392)
// through fn, with the broker that answers: the way tests make a replica
// serve records other than its leader's. It needs a replication mode.
func (b *Backend) OnFollowerFetch(fn func(node int, topic string, partition int32, batches []byte) []byte) {
	b.repl.mu.Lock()
	defer b.repl.mu.Unlock()
	b.repl.onFetch = fn
}

// produced counts the records of req that resp acknowledged (resp nil: acks=0).
func (f *front) produced(req *kmsg.ProduceRequest, resp *kmsg.ProduceResponse) {
	ok := map[string]map[int32]bool{}
	if resp != nil {
		for _, t := range resp.Topics {
			name := f.r.name(t.Topic, t.TopicID)
			for _, p := range t.Partitions {
				if p.ErrorCode == 0 {
					if ok[name] == nil {
						ok[name] = map[int32]bool{}
					}
					ok[name][p.Partition] = true
				}
			}
		}
	}
	for _, t := range req.Topics {
		name := f.r.name(t.Topic, t.TopicID)
		for _, p := range t.Partitions {
			if resp != nil && !ok[name][p.Partition] {
				continue
			}
			if n := countRecords(p.Records); n > 0 {
				f.r.produced(name, p.Partition, n, f.index, req.Acks)
			}
		}
	}
}

// countRecords counts the records of the record batches in b (magic 2).
func countRecords(b []byte) int64 {
	var n int64
	for len(b) >= 61 {
		length := int(binary.BigEndian.Uint32(b[8:12]))
		if b[16] != 2 || length < 49 || len(b) < 12+length {
			break
		}
		n += int64(binary.BigEndian.Uint32(b[57:61]))
		b = b[12+length:]
	}
	return n
}
