// Command edgebench benchmarks and profiles language-model inference on edge
// hardware. main only wires flags to packages; every subcommand lives in its
// own file and registers itself with register.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version and commit are set by the linker (-ldflags "-X main.version=...");
// when they are not, buildVersion falls back to the module build info.
var (
	version = ""
	commit  = ""
)

var subcommands []func() *cobra.Command

// register adds a subcommand constructor; called from each command file's init.
func register(f func() *cobra.Command) { subcommands = append(subcommands, f) }

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "edgebench",
		Short: "Benchmark and profile language-model inference on edge hardware",
		Long: `edgebench measures how fast, how efficiently and how accurately a device runs
language models: a reference Llama-family runtime and its microkernels, swept over
model size, weight bit width, sparsity and kernel backend, with sensor probes.`,
		Example: `  edgebench run                       # the built-in quick suite on this machine
  edgebench sysinfo                   # device fingerprint and measured roofline
  edgebench model gen --arch stories15M --type q8_0 -o s15.gguf`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, f := range subcommands {
		root.AddCommand(f())
	}
	return root
}

// run is main without the process exit, so tests can drive the CLI.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stderr, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "edgebench: %v\n", err)
		os.Exit(1)
	}
}
