package testbroker

import "os"

// HelperEnv, set to "1" in a spawned node's environment, marks a run of a
// test binary as a test broker node (see ServeIfHelper).
const HelperEnv = "CHRONIK_E2E_TEST_BROKER"

// ServeIfHelper lets a test binary act as a spawned node: when HelperEnv is
// set it runs the test broker with args and exits; otherwise it returns.
func ServeIfHelper(args []string) {
	if os.Getenv(HelperEnv) == "1" {
		os.Exit(Main(args, os.Stdout, os.Stderr))
	}
}
