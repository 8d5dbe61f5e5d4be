// Package workload makes the messages the runner produces and checks the ones
// it reads back: a self-verifying payload, a compact ledger of what was sent
// and acknowledged, and latency histograms.
package workload

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
)

// HeaderSize is the smallest payload: magic, version, run id, sequence, key
// index, send time and checksum. workload.value_bytes must be at least this.
const HeaderSize = 32

// PayloadVersion is the payload layout Encode writes and Decode accepts.
// Version 2 put the send time in bytes that version 1 left zero.
const PayloadVersion = 2

const magic0, magic1 = 0xCE, 0x2E

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Payload is what a verified record carries.
type Payload struct {
	RunID uint64
	Seq   uint64
	Key   uint32
	// Sent is when the message was due to be sent, for end-to-end latency.
	Sent Stamp
}

// Key returns the record key for key index k: "key-<k>".
func Key(k uint32) []byte { return strconv.AppendUint([]byte("key-"), uint64(k), 10) }

// Keys returns the record keys key-0 .. key-(n-1), shared by every message.
func Keys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = Key(uint32(i))
	}
	return keys
}

// Encode writes the payload for p into buf (len(buf) >= HeaderSize); key is
// the record key, covered by the checksum with the header. The bytes after
// the header are a filler derived from the sequence number, byte i being
// byte(seq + i - 32), which Decode compares byte for byte rather than
// checksumming: as strict, and cheaper.
//
// Layout: magic(2) version(1) reserved(1) run(8) seq(8) key(4) sent(4) crc32c(4) filler.
func Encode(buf []byte, p Payload, key []byte) {
	buf[0], buf[1], buf[2], buf[3] = magic0, magic1, PayloadVersion, 0
	binary.BigEndian.PutUint64(buf[4:], p.RunID)
	binary.BigEndian.PutUint64(buf[12:], p.Seq)
	binary.BigEndian.PutUint32(buf[20:], p.Key)
	binary.BigEndian.PutUint32(buf[24:], uint32(p.Sent))
	fill(buf[HeaderSize:], byte(p.Seq))
	binary.BigEndian.PutUint32(buf[28:], checksum(buf, key))
}

// ramp holds two periods of the filler pattern, so that any 256 bytes of it
// starting anywhere in the first period are one slice.
var ramp = func() (r [512]byte) {
	for i := range r {
		r[i] = byte(i)
	}
	return r
}()

// fill writes start, start+1, ... (wrapping at 256) into dst, a period at a time.
func fill(dst []byte, start byte) {
	period := ramp[start : int(start)+256]
	for len(dst) > 0 {
		dst = dst[copy(dst, period):]
	}
}

// checksum is the CRC-32C of the header before the checksum field, and the key.
func checksum(buf, key []byte) uint32 {
	return crc32.Update(crc32.Update(0, castagnoli, buf[:28]), castagnoli, key)
}

// filled reports whether b is the filler fill(b, start) writes.
func filled(b []byte, start byte) bool {
	period := ramp[start : int(start)+256]
	for len(b) > 0 {
		n := min(len(b), len(period))
		if !bytes.Equal(b[:n], period[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// Errors Decode returns; each names why a record is not a valid payload.
var (
	ErrNotPayload = errors.New("not a chronik-e2e payload")
	ErrChecksum   = errors.New("checksum mismatch (value or key corrupted)")
)

// Decode parses and verifies a record's value and key.
func Decode(value, key []byte) (Payload, error) {
	if len(value) < HeaderSize || value[0] != magic0 || value[1] != magic1 {
		return Payload{}, fmt.Errorf("%w (%d bytes)", ErrNotPayload, len(value))
	}
	if value[2] != PayloadVersion {
		return Payload{}, fmt.Errorf("%w: payload version %d", ErrNotPayload, value[2])
	}
	if binary.BigEndian.Uint32(value[28:]) != checksum(value, key) {
		return Payload{}, ErrChecksum
	}
	seq := binary.BigEndian.Uint64(value[12:])
	if !filled(value[HeaderSize:], byte(seq)) {
		return Payload{}, ErrChecksum
	}
	return Payload{
		RunID: binary.BigEndian.Uint64(value[4:]),
		Seq:   seq,
		Key:   binary.BigEndian.Uint32(value[20:]),
		Sent:  Stamp(binary.BigEndian.Uint32(value[24:])),
	}, nil
}
