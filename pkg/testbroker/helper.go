package testbroker

import "os"

// HelperEnv, set to "1" in a spawned node's environment, marks a run of a
// test binary as a test broker node (see ServeIfHelper).
const HelperEnv = "CHRONIK_E2E_TEST_BROKER"

// ServeIfHelper lets a test binary act as a spawned node: when HelperEnv is
// set it runs the test broker with args and exits (with "placement" first,
// the placement command with the rest); otherwise it returns.
func ServeIfHelper(args []string) {
	if os.Getenv(HelperEnv) != "1" {
		return
	}
	if len(args) > 0 && args[0] == "placement" {
		os.Exit(Placement(args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(Main(args, os.Stdout, os.Stderr))
}
