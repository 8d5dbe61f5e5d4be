package testbroker

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// PlacementUsage is the synopsis of the placement command's flags.
const PlacementUsage = "chronik-e2e internal placement --backend URL --index I --topic TOPIC"

// Placement prints what broker --index of the backend at --backend
// physically holds of --topic, one partition a line ("0 records=334"): a
// placement hook for spawned test nodes (spawn.placement). It returns the
// exit status.
func Placement(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chronik-e2e internal placement", flag.ContinueOnError)
	fs.SetOutput(stderr)
	backend := fs.String("backend", "", "URL of the backend (required)")
	index := fs.Int("index", -1, "which broker of the backend (0 for the first; required)")
	topic := fs.String("topic", "", "the topic (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *backend == "" || *index < 0 || *topic == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chronik-e2e internal placement: usage: %s\n", PlacementUsage)
		return 2
	}
	q := url.Values{"index": {strconv.Itoa(*index)}, "topic": {*topic}}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(strings.TrimSuffix(*backend, "/") + "/placement?" + q.Encode())
	if err != nil {
		fmt.Fprintf(stderr, "chronik-e2e internal placement: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "chronik-e2e internal placement: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return 1
	}
	_, _ = stdout.Write(body)
	return 0
}
