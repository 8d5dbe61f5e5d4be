// Command chronik-e2e is an end-to-end test runner for Kafka-compatible
// clusters: it produces, consumes and verifies every message, checks the
// cluster's shape, and renders a verdict.
package main

import "os"

func main() { os.Exit(run()) }
