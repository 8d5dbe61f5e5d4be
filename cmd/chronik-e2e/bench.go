package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/bench"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// BenchOptions are what `bench` takes from its flags.
type BenchOptions struct {
	Bootstrap  []string // --bootstrap: measure against this cluster rather than start one
	Messages   int      // --messages: per side and round
	ValueBytes int      // --value-bytes
	Partitions int      // --partitions
	Rounds     int      // --rounds
	Producers  []int    // --producers: the batch engine's producer counts
	Kcat       string   // --kcat: kcat's path; default: kcat on PATH, if any
	Dir        string   // --dir: where profiles, reports and logs go; default: a temporary directory
}

// newBenchCmd returns `chronik-e2e bench`; runF replaces the run in flag-parsing tests.
func newBenchCmd(t *term.Terminal, runF func(*BenchOptions) error) *cobra.Command {
	o := &BenchOptions{}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the runner's produce and consume throughput side by side with bare sarama and kcat",
		Long: `Starts a 3-broker cluster in another process (chronik-e2e cluster up, or
measures the one --bootstrap names) and runs against it, back to back and in
an order that rotates each round: bare sarama (an AsyncProducer and partition
consumers that only count), the runner (chronik-e2e run: topic-create,
produce, consume) with the batch engine at each --producers count and with
the sarama engine, and kcat (librdkafka) when it is installed. Every side
sends --messages keyed values of --value-bytes with acks=all. Prints each
side's produce and consume rates per round and their medians, and the
runner's ratios to bare sarama and to kcat against the targets.

Exit status: 0 measured (whether or not the targets were met), 1 a side
failed (the run it made, its output and report, are in --dir), 2 bad usage.`,
		Example: `  chronik-e2e bench
  chronik-e2e bench --messages 200000 --rounds 1
  chronik-e2e bench --bootstrap kafka-1:9092,kafka-2:9092,kafka-3:9092`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case o.Messages < 1:
				return exitcode.Usagef("--messages must be at least 1, not %d", o.Messages)
			case o.Rounds < 1:
				return exitcode.Usagef("--rounds must be at least 1, not %d", o.Rounds)
			case o.ValueBytes < 32:
				return exitcode.Usagef("--value-bytes must be at least 32 (the payload header), not %d", o.ValueBytes)
			case o.Partitions < 1:
				return exitcode.Usagef("--partitions must be at least 1, not %d", o.Partitions)
			}
			for _, n := range o.Producers {
				if n < 1 || n > 64 {
					return exitcode.Usagef("--producers: %d is not 1..64", n)
				}
			}
			if runF != nil {
				return runF(o)
			}
			return runBench(cmd.Context(), t, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Bootstrap, "bootstrap", nil, "measure against this running cluster (host:port,...; 3 brokers) rather than start one")
	f.IntVar(&o.Messages, "messages", 1_000_000, "messages each side sends per round")
	f.IntVar(&o.ValueBytes, "value-bytes", 100, "bytes per value")
	f.IntVar(&o.Partitions, "partitions", 9, "partitions of each topic (replication factor 3)")
	f.IntVar(&o.Rounds, "rounds", 3, "rounds: every figure is the median of them")
	f.IntSliceVar(&o.Producers, "producers", []int{1, 2, 4}, "the batch engine's producer counts, one runner side each")
	f.StringVar(&o.Kcat, "kcat", "", "kcat's path, or none to leave kcat out (default: kcat on PATH; without one kcat is left out)")
	f.StringVar(&o.Dir, "dir", "", "where the profiles, run reports and logs go (default: a temporary directory, removed unless a side fails)")
	return cmd
}

// selfPath returns the path this chronik-e2e was started as (a test binary
// runs as chronik-e2e under that name only), else the running executable.
func selfPath() (string, error) {
	if p, err := exec.LookPath(os.Args[0]); err == nil {
		return filepath.Abs(p)
	}
	return os.Executable()
}

// runBench measures and prints the table on stdout, progress on stderr.
func runBench(ctx context.Context, t *term.Terminal, o *BenchOptions) error {
	exe, err := selfPath()
	if err != nil {
		return fmt.Errorf("find the chronik-e2e binary to run: %w", err)
	}
	kcat, noKcat := o.Kcat, ""
	switch kcat {
	case "":
		if kcat, err = exec.LookPath("kcat"); err != nil {
			kcat, noKcat = "", "it is not installed (apt-get install kcat, or --kcat PATH)"
		}
	case "none":
		kcat, noKcat = "", "--kcat none"
	default:
		if _, err := os.Stat(kcat); err != nil {
			return exitcode.Usagef("--kcat: %v", err)
		}
	}
	dir, keep := o.Dir, o.Dir != ""
	if dir == "" {
		if dir, err = os.MkdirTemp("", "chronik-e2e-bench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return exitcode.Usagef("--dir: %v", err)
	}
	res, err := bench.Run(ctx, bench.Options{
		Exe: exe, Bootstrap: o.Bootstrap, Messages: o.Messages, ValueBytes: o.ValueBytes, Partitions: o.Partitions,
		Keys: 100, Rounds: o.Rounds, Producers: o.Producers, Kcat: kcat, NoKcat: noKcat, Dir: dir, Log: t.ErrOut,
	})
	if err != nil {
		return fmt.Errorf("bench: %w (profiles, reports and logs are in %s)", err, dir)
	}
	if !keep {
		_ = os.RemoveAll(dir)
	}
	res.Render(t.Out)
	return nil
}
