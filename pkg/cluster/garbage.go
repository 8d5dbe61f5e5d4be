package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
	"unicode"
)

// diagnoseTimeout bounds how long diagnose waits for an answer.
const diagnoseTimeout = time.Second

// maxKafkaResponse is larger than any answer to ApiVersions v0.
const maxKafkaResponse = 100 << 20

// diagnoseCorrelation is the correlation id of diagnose's request.
const diagnoseCorrelation = 0x0e2e0e2e

// diagnose speaks the smallest Kafka exchange to addr (ApiVersions v0, whose
// request every Kafka-protocol broker must answer) and says what is wrong
// with the answer: bytes that are not the Kafka protocol (an HTTP server, a
// TLS listener, another service on the port), or a connection closed
// without an answer. It returns "" when the answer is a Kafka answer or no
// answer came within diagnoseTimeout: then the error the client saw is the
// one to report.
func diagnose(addr string) string {
	conn, err := net.DialTimeout("tcp", addr, diagnoseTimeout)
	if err != nil {
		return ""
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(diagnoseTimeout))
	const clientID = "chronik-e2e"
	req := binary.BigEndian.AppendUint32(nil, uint32(2+2+4+2+len(clientID)))
	req = binary.BigEndian.AppendUint16(req, 18) // ApiVersions
	req = binary.BigEndian.AppendUint16(req, 0)  // version 0
	req = binary.BigEndian.AppendUint32(req, diagnoseCorrelation)
	req = binary.BigEndian.AppendUint16(req, uint16(len(clientID)))
	req = append(req, clientID...)
	if _, err := conn.Write(req); err != nil {
		return ""
	}
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(conn, buf, 8)
	got := buf[:n]
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return "accepts connections but closes them without answering a Kafka request: is this a Kafka listener?"
	case n == 0:
		return "" // no answer: the client's error says so
	case n < 8:
		return "answers with bytes that are not the Kafka protocol: " + quoteBytes(got)
	}
	size := int32(binary.BigEndian.Uint32(got))
	corr := binary.BigEndian.Uint32(got[4:])
	if size < 4 || size > maxKafkaResponse || corr != diagnoseCorrelation {
		return "answers with bytes that are not the Kafka protocol: " + quoteBytes(got)
	}
	return ""
}

// quoteBytes shows the first bytes of an answer, and what they look like.
func quoteBytes(b []byte) string {
	b = b[:min(len(b), 16)]
	s := fmt.Sprintf("% x", b)
	text := strings.Map(func(r rune) rune {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return '.'
		}
		return r
	}, string(b))
	s += fmt.Sprintf(" (%q)", text)
	switch {
	case strings.HasPrefix(string(b), "HTTP/"):
		s += ": an HTTP server?"
	case len(b) > 0 && b[0] == 0x15:
		s += ": a TLS listener?"
	}
	return s
}

// diagnoseAll diagnoses, at once, every address whose probe failed after it
// connected, and returns the findings by address.
func diagnoseAll(addrs []string, lastErr map[string]error) map[string]string {
	found := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, a := range addrs {
		var op *net.OpError
		if err := lastErr[a]; err == nil || (errors.As(err, &op) && op.Op == "dial") {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d := diagnose(a); d != "" {
				mu.Lock()
				found[a] = d
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return found
}
