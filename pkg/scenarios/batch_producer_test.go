package scenarios

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// The batch engine's record batches, with every codec and one or several
// producers, are taken by kfake and read back by sarama's decoder and
// franz-go's: every record once, its payload intact, under its own key, in
// the partition sarama's default (hash) partitioner picks for that key, at
// the offset the ledger holds for it, compressed with the codec asked for;
// a shard's sequence numbers (seqBase) are the payloads', not the ledger's.
func TestBatchEngineRoundTrip(t *testing.T) {
	t.Parallel()
	c, err := cluster.StartEmbedded(3)
	if err != nil {
		t.Fatalf("start embedded cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	for _, codec := range profile.Compressions {
		for _, producers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%d producers", codec, producers), func(t *testing.T) {
				testBatchRoundTrip(t, c, codec, producers, 0)
			})
		}
	}
	t.Run("a shard's sequence numbers", func(t *testing.T) { testBatchRoundTrip(t, c, "none", 2, 1_000_000) })
}

func testBatchRoundTrip(t *testing.T, c *cluster.Embedded, codec string, producers, seqBase int) {
	const (
		partitions = 7
		nkeys      = 50
		n          = 3000
		valueBytes = 64
		runID      = 0xba7c4
	)
	p := profile.Default()
	p.Topic.Partitions = partitions
	topic := fmt.Sprintf("batch-%s-%d-%d", codec, producers, seqBase)
	env, err := NewEnv(p, c, report.New("test", "test", time.Now()), topic, runID, sarama.V3_6_0_0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	step := NewStep(&report.Scenario{Name: "test"})
	if err := createTopic(ctx, env, step, topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 3}); err != nil {
		t.Fatal(err)
	}

	keys := workload.Keys(nkeys)
	ledger := verify.NewLedger(n)
	e, err := startEngine(ctx, env, engineOptions{
		topic: topic, mode: verify.Mode{Acks: "all"}, engine: engineBatch, compression: codec,
		producers: producers, valueBytes: valueBytes, runID: runID, keys: keys, ledger: ledger, seqBase: seqBase,
	})
	if err != nil {
		t.Fatal(err)
	}
	<-e.sendersDone()
	if left := e.drain(ctx); left != 0 {
		t.Fatalf("%d messages unanswered", left)
	}
	e.close()
	if e.Engine() != engineBatch {
		t.Fatalf("engine %q ran, want %q", e.Engine(), engineBatch)
	}
	if st := e.stats(); st.sent != n || st.answered != n || len(st.failedBy) != 0 {
		t.Fatalf("sent %d, answered %d, failed %v; want %d sent and acknowledged", st.sent, st.answered, st.failedBy, n)
	}

	// Where the default partitioner puts each key: sarama's own, asked
	// directly rather than through the engine's table.
	hash := sarama.NewHashPartitioner(topic)
	want := make([]int32, nkeys)
	for k, key := range keys {
		if want[k], err = hash.Partition(&sarama.ProducerMessage{Key: sarama.ByteEncoder(key)}, partitions); err != nil {
			t.Fatal(err)
		}
	}
	check := func(reader string, partition int32, offset int64, key, value []byte) int {
		t.Helper()
		pl, err := workload.Decode(value, key)
		if err != nil || pl.RunID != runID || pl.Seq < uint64(seqBase) || pl.Seq >= uint64(seqBase+n) {
			t.Fatalf("%s: partition %d offset %d: payload %+v, %v", reader, partition, offset, pl, err)
		}
		seq := int(pl.Seq) - seqBase
		k := seq % nkeys
		if string(key) != string(keys[k]) || int(pl.Key) != k {
			t.Errorf("%s: seq %d has key %q (index %d), want %q", reader, seq, key, pl.Key, keys[k])
		}
		if partition != want[k] {
			t.Errorf("%s: seq %d (%s) in partition %d, the default partitioner picks %d", reader, seq, key, partition, want[k])
		}
		if state := ledger.State(seq); state != verify.Acked {
			t.Errorf("%s: seq %d is %s in the ledger", reader, seq, state)
		}
		if lp, lo := ledger.Position(seq); lp != partition || lo != offset {
			t.Errorf("%s: seq %d read at %d/%d, the ledger holds %d/%d", reader, seq, partition, offset, lp, lo)
		}
		return seq
	}

	// sarama's decoder.
	seen := make([]int, n)
	client, err := sarama.NewClient(c.Bootstrap(), kafka.ConfigFor(sarama.V3_6_0_0))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	total := 0
	for part := range int32(partitions) {
		hwm, err := client.GetOffset(topic, part, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if hwm == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, part, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for m := range pc.Messages() {
			seen[check("sarama", m.Partition, m.Offset, m.Key, m.Value)]++
			total++
			if m.Offset+1 >= hwm {
				break
			}
		}
		pc.AsyncClose()
	}
	for seq, times := range seen {
		if times != 1 {
			t.Errorf("sarama: seq %d read %d times, want once", seq, times)
		}
	}
	if total != n {
		t.Errorf("sarama read %d records, want %d", total, n)
	}

	// franz-go's decoder, which also says how each batch was compressed.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	wantCodec := map[string]uint8{"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}[codec]
	for read := 0; read < n; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("franz-go after %d records: %v", read, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			check("franz-go", r.Partition, r.Offset, r.Key, r.Value)
			if got := r.Attrs.CompressionType(); got != wantCodec {
				t.Errorf("franz-go: partition %d offset %d compressed with codec %d, want %d (%s)", r.Partition, r.Offset, got, wantCodec, codec)
			}
			read++
		})
	}
}

// The batch engine produces unless the profile asks for sarama's, the
// producer is idempotent or retries (sarama's own abilities), or the
// protocol has no record batches; the report then says why.
func TestChooseEngine(t *testing.T) {
	for _, tc := range []struct {
		o          engineOptions
		v          sarama.KafkaVersion
		partitions int
		kind, why  string
	}{
		{engineOptions{engine: engineBatch, mode: verify.Mode{Acks: "all"}}, sarama.V3_6_0_0, 9, engineBatch, ""},
		{engineOptions{mode: verify.Mode{Acks: "1"}}, sarama.V3_6_0_0, 9, engineBatch, ""},
		{engineOptions{engine: engineSarama, mode: verify.Mode{Acks: "all"}}, sarama.V3_6_0_0, 9, engineSarama, ""},
		{engineOptions{engine: engineBatch, mode: verify.Mode{Acks: "all", Idempotent: true}}, sarama.V3_6_0_0, 9, engineSarama, "idempotence is sarama's producer's"},
		{engineOptions{engine: engineBatch, mode: verify.Mode{Acks: "all", Retries: 3}}, sarama.V3_6_0_0, 9, engineSarama, "retries are sarama's producer's"},
		{engineOptions{engine: engineBatch, mode: verify.Mode{Acks: "all"}}, sarama.V0_10_2_0, 9, engineSarama, "protocol 0.10.2.0 has no record batches"},
		// Every partition's window holds a record: 1000 of 1 MiB took 1000 MiB up front.
		{engineOptions{mode: verify.Mode{Acks: "all"}, producers: 1, valueBytes: 1 << 20}, sarama.V3_6_0_0, 1000, engineSarama,
			"the batch engine's record windows would take 1000 MiB: 1000 partitions × 1 producers × 1048576 bytes"},
		{engineOptions{mode: verify.Mode{Acks: "all"}, producers: 4, valueBytes: 100}, sarama.V3_6_0_0, 1000, engineBatch, ""},
		{engineOptions{mode: verify.Mode{Acks: "all"}, producers: 1, valueBytes: 100_000}, sarama.V3_6_0_0, 9, engineBatch, ""},
	} {
		if tc.o.producers == 0 {
			tc.o.producers, tc.o.valueBytes = 1, 100
		}
		kind, why := chooseEngine(tc.o, tc.v, tc.partitions)
		if kind != tc.kind || why != tc.why {
			t.Errorf("chooseEngine(%+v, %s, %d) = %q, %q; want %q, %q", tc.o, tc.v, tc.partitions, kind, why, tc.kind, tc.why)
		}
	}
}

// produceVersion is the Produce version sarama's own producer would send.
func TestProduceVersion(t *testing.T) {
	for v, want := range map[sarama.KafkaVersion]int16{
		sarama.V0_11_0_0: 3, sarama.V1_0_0_0: 5, sarama.V2_0_0_0: 6, sarama.V2_1_0_0: 7,
		sarama.V2_4_0_0: 8, sarama.V2_8_0_0: 9, sarama.V3_6_0_0: 9, sarama.V3_7_0_0: 10, sarama.V4_0_0_0: 10,
	} {
		if got := produceVersion(v); got != want {
			t.Errorf("produceVersion(%s) = %d, want %d", v, got, want)
		}
	}
}
