package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

// TestMain lets the test binary run as the chronik-e2e command, so that the
// scripts can `exec chronik-e2e` the real main without building it first.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"chronik-e2e": func() { os.Exit(run()) },
	})
}

// TestScript runs the end-to-end scripts in testdata/script. Set
// UPDATE_SCRIPTS=1 to rewrite the golden files that `cmp` checks.
//
// Besides testscript's own commands, the scripts have:
//
//	kfake [-env NAME] [-fault REQUEST:ERROR[:PARTITION]]... [-fault-count N] [-hold REQUEST] [-delay REQUEST:DURATION] [-max-version KAFKA] [-tls DIR [-mtls]] [-sasl MECHANISM:USER:PASSWORD] NODES
//	    start an embedded cluster of NODES brokers in the test process, and
//	    set $NAME (default BOOTSTRAP) to its comma-separated addresses; each
//	    -fault answers every matching request with the Kafka error ERROR
//	    (e.g. -fault produce:NOT_ENOUGH_REPLICAS:1), or only the first N
//	    matching requests with -fault-count N; -hold never answers
//	    the requests named (e.g. -hold produce); -delay answers them
//	    DURATION late (e.g. -delay produce:100ms, a slower cluster);
//	    -max-version accepts only the request versions of that Kafka
//	    release (e.g. -max-version 2.8.0, an older broker); the cluster
//	    stops when the script ends; -tls DIR serves TLS with a
//	    certificate of a CA generated for the test, -sasl requires SASL
//	    with USER a superuser (secure_script_test.go)
//	kfake-held
//	    wait until the cluster of the last kfake holds a request
//	expect-exit CODE PROGRAM [ARGS...]
//	    like exec, but the program must exit with exactly CODE
//	garbage NAME TEXT
//	    listen on a free port until the script ends, answer every request
//	    with TEXT (a broker that speaks something else), set $NAME to the
//	    address
//	json [-len] FILE PATH WANT
//	    the JSON value at the dotted PATH in FILE (each element an object
//	    key or an array index) must be WANT: a string's text, or else the
//	    value's compact JSON; with -len, the value's length must be WANT
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"kfake":       cmdKfake,
			"kfake-held":  cmdKfakeHeld,
			"expect-exit": cmdExpectExit,
			"json":        cmdJSON,
			// Spawn mode and cluster up: spawn_script_test.go.
			"backend":      cmdBackend,
			"backend-held": cmdBackendHeld,
			"signal-pid":   cmdSignalPid,
			"pids-gone":    cmdPidsGone,
			"wait-file":    cmdWaitFile,
			"no-match":     cmdNoMatch,
			"garbage":      cmdGarbage,
			"json-env":     cmdJSONEnv,
			"listen-port":  cmdListenPort,
			"free-ports":   cmdFreePorts,
			"subst-env":    cmdSubstEnv,
		},
	})
}

// cmdKfake starts an embedded cluster in the test process: the chronik-e2e
// under test attaches to it as it would to any cluster another process serves.
func cmdKfake(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! kfake")
	}
	fs := flag.NewFlagSet("kfake", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := fs.String("env", "BOOTSTRAP", "environment variable to set to the bootstrap addresses")
	var faults []kfake.Fault
	fs.Func("fault", "REQUEST:ERROR[:PARTITION]: answer every matching request with ERROR", func(s string) error {
		f, err := parseFault(s)
		faults = append(faults, f)
		return err
	})
	faultCount := fs.Int("fault-count", -1, "answer only the first N matching requests with each -fault's error (-1: all)")
	var hold []kmsg.Key
	holdFlag(fs, &hold)
	type delay struct {
		key kmsg.Key
		d   time.Duration
	}
	var delays []delay
	fs.Func("delay", "REQUEST:DURATION: answer these requests DURATION late", func(s string) error {
		name, dur, _ := strings.Cut(s, ":")
		key, ok := requestKey(name)
		if !ok {
			return fmt.Errorf("no request named %q", name)
		}
		d, err := time.ParseDuration(dur)
		delays = append(delays, delay{key, d})
		return err
	})
	var opts []kfake.Opt
	fs.Func("max-version", "KAFKA: accept only the request versions of this Kafka release", func(s string) error {
		v := kversion.FromString(s)
		if v == nil {
			return fmt.Errorf("no Kafka release %q", s)
		}
		opts = append(opts, kfake.MaxVersions(v))
		return nil
	})
	secure := secureFlags(fs, func() string { return ts.Getenv("WORK") })
	nodes := parseNodes(ts, fs, args, "kfake [-env NAME] [-fault REQUEST:ERROR[:PARTITION]]... [-fault-count N] [-hold REQUEST] [-delay REQUEST:DURATION] [-max-version KAFKA] [-tls DIR [-mtls]] [-sasl MECHANISM:USER:PASSWORD] NODES")
	secOpts, err := secure()
	ts.Check(err)
	c, err := cluster.StartEmbedded(nodes, append(opts, secOpts...)...)
	ts.Check(err)
	ts.Defer(func() { _ = c.Close() })
	if len(faults) > 0 {
		for i := range faults {
			faults[i].Count = *faultCount
		}
		c.Kfake().Fault(faults...)
	}
	held, release := holdRequests(ts, c, hold)
	for _, d := range delays {
		kc := c.Kfake()
		kc.ControlKey(int16(d.key), func(kmsg.Request) (kmsg.Response, error, bool) {
			// Sleep, serving other connections, then let the cluster
			// handle the request as usual (not handled: the control stays).
			kc.SleepControl(func() {
				timer := time.NewTimer(d.d)
				defer timer.Stop()
				select {
				case <-timer.C:
				case <-release:
				}
			})
			return nil, nil, false
		})
	}
	heldBy.Store(ts, held)
	ts.Defer(func() { heldBy.Delete(ts) })
	ts.Setenv(*env, strings.Join(c.Bootstrap(), ","))
}

// heldBy maps a script to the channel its cluster closes when it first holds a request.
var heldBy sync.Map

// cmdKfakeHeld waits until the script's cluster holds a request (kfake -hold).
func cmdKfakeHeld(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 0 {
		ts.Fatalf("usage: kfake-held")
	}
	held, ok := heldBy.Load(ts)
	if !ok {
		ts.Fatalf("kfake-held: no kfake started")
	}
	waitHeld(ts, "kfake-held", held.(chan struct{}), 30*time.Second)
}

// parseNodes parses args with fs and returns the one argument left, NODES: a
// number of brokers. usage is the command's usage line.
func parseNodes(ts *testscript.TestScript, fs *flag.FlagSet, args []string, usage string) int {
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		ts.Fatalf("usage: %s (%v)", usage, err)
	}
	nodes, err := strconv.Atoi(fs.Arg(0))
	if err != nil || nodes < 1 {
		ts.Fatalf("%s: %q is not a number of brokers", fs.Name(), fs.Arg(0))
	}
	return nodes
}

// holdFlag adds -hold REQUEST to fs: each request named is appended to hold.
func holdFlag(fs *flag.FlagSet, hold *[]kmsg.Key) {
	fs.Func("hold", "REQUEST: never answer these requests", func(s string) error {
		key, ok := requestKey(s)
		if !ok {
			return fmt.Errorf("no request named %q", s)
		}
		*hold = append(*hold, key)
		return nil
	})
}

// holdRequests makes c never answer the requests in hold. held is closed
// when it first holds one; release is closed when the script ends, which
// lets the held requests go (their connections are closed unanswered).
// Deferred calls run last first: call it after deferring c's Close, so
// that the release comes before.
func holdRequests(ts *testscript.TestScript, c *cluster.Embedded, hold []kmsg.Key) (held, release chan struct{}) {
	held, release = make(chan struct{}), make(chan struct{})
	ts.Defer(func() { close(release) })
	var once sync.Once
	for _, key := range hold {
		kc := c.Kfake()
		kc.ControlKey(int16(key), func(kmsg.Request) (kmsg.Response, error, bool) {
			kc.KeepControl()
			once.Do(func() { close(held) })
			// Other connections are served while this one sleeps.
			kc.SleepControl(func() { <-release })
			return nil, errors.New("held"), true
		})
	}
	return held, release
}

// waitHeld waits at most bound until held is closed: the cluster holds a request.
func waitHeld(ts *testscript.TestScript, cmd string, held chan struct{}, bound time.Duration) {
	select {
	case <-held:
	case <-time.After(bound):
		ts.Fatalf("%s: no request held within %s", cmd, bound)
	}
}

// parseFault reads REQUEST:ERROR[:PARTITION], e.g. produce:NOT_ENOUGH_REPLICAS:1.
func parseFault(s string) (kfake.Fault, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return kfake.Fault{}, fmt.Errorf("fault %q is not REQUEST:ERROR[:PARTITION]", s)
	}
	f := kfake.Fault{Count: -1}
	key, ok := requestKey(parts[0])
	if !ok {
		return f, fmt.Errorf("fault %q: no request named %q", s, parts[0])
	}
	f.Keys = []kmsg.Key{key}
	if f.Err, ok = kafkaError(parts[1]); !ok {
		return f, fmt.Errorf("fault %q: no Kafka error named %q", s, parts[1])
	}
	if len(parts) == 3 {
		p, err := strconv.ParseInt(parts[2], 10, 32)
		if err != nil {
			return f, fmt.Errorf("fault %q: partition %q is not a number", s, parts[2])
		}
		f.Partitions = []int32{int32(p)}
	}
	return f, nil
}

// requestKey finds a request key by its name, in any case ("produce").
func requestKey(name string) (kmsg.Key, bool) {
	for k := int16(0); k <= kmsg.MaxKey; k++ {
		if strings.EqualFold(kmsg.NameForKey(k), name) {
			return kmsg.Key(k), true
		}
	}
	return 0, false
}

// kafkaError finds a Kafka error by its name ("NOT_ENOUGH_REPLICAS").
func kafkaError(name string) (*kerr.Error, bool) {
	for code := int16(-1); code < 200; code++ {
		if e := kerr.TypedErrorForCode(code); e != nil && e.Message == name {
			return e, true
		}
	}
	return nil, false
}

// cmdExpectExit runs a program like exec and checks its exact exit code,
// which `! exec` does not: exit 1, 2 and 3 mean different things.
func cmdExpectExit(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! expect-exit")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: expect-exit CODE PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("expect-exit: %q is not an exit code", args[0])
	}
	got := 0
	var exitErr *exec.ExitError
	switch err := ts.Exec(args[1], args[2:]...); {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		got = exitErr.ExitCode()
	default:
		ts.Fatalf("%s: %v", args[1], err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdJSON checks one value in a JSON file.
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	length := len(args) > 0 && args[0] == "-len"
	if length {
		args = args[1:]
	}
	if len(args) != 3 {
		ts.Fatalf("usage: json [-len] FILE PATH WANT")
	}
	file, path, want := args[0], args[1], args[2]
	v := jsonAt(ts, file, path)
	var got string
	switch x := v.(type) {
	case map[string]any:
		got = strconv.Itoa(len(x))
	case []any:
		got = strconv.Itoa(len(x))
	}
	if length && got == "" {
		ts.Fatalf("%s: %s is a %T, which has no length", file, path, v)
	}
	if !length {
		var ok bool
		if got, ok = v.(string); !ok {
			b, err := json.Marshal(v)
			ts.Check(err)
			got = string(b)
		}
	}
	what := path
	if length {
		what = "the length of " + path
	}
	switch {
	case neg && got == want:
		ts.Fatalf("%s: %s is %s", file, what, got)
	case !neg && got != want:
		ts.Fatalf("%s: %s is %s, want %s", file, what, got, want)
	}
}

// jsonAt returns the value at the dotted path in the JSON of file (each
// element an object key or an array index), numbers as json.Number; the
// script fails when there is none.
func jsonAt(ts *testscript.TestScript, file, path string) any {
	var v any
	dec := json.NewDecoder(strings.NewReader(ts.ReadFile(file)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		ts.Fatalf("%s: %v", file, err)
	}
	for _, elem := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[elem]; !ok {
				ts.Fatalf("%s: no %s: no key %q", file, path, elem)
			}
		case []any:
			i, err := strconv.Atoi(elem)
			if err != nil || i < 0 || i >= len(x) {
				ts.Fatalf("%s: no %s: no index %q in a list of %d", file, path, elem, len(x))
			}
			v = x[i]
		default:
			ts.Fatalf("%s: no %s: %q is inside a %T", file, path, elem, v)
		}
	}
	return v
}
