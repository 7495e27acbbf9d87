package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
)

func init() { register(newModelCmd) }

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Generate synthetic GGUF models of real shapes, and inspect GGUF files",
		Long: `model writes GGUF files with the exact shapes of real models (stories15M …
Llama-3.1-8B) and deterministic random weights, which llama.cpp loads like any
converted model, and inspects any GGUF file: metadata, tensors, types, sizes
and bits per weight.`,
		Example: `  edgebench model gen --arch SmolLM2-135M --type q8_0 -o smollm2-135m-q8_0.gguf
  edgebench model inspect smollm2-135m-q8_0.gguf
  edgebench model inspect --json smollm2-135m-q8_0.gguf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newModelGenCmd(), newModelInspectCmd(), newCompressCmd())
	return cmd
}

func presetList() string {
	var b strings.Builder
	for _, c := range model.Presets() {
		fmt.Fprintf(&b, "  %-15s %-6s %8s params\n", c.Name, c.Arch, fmtCount(c.Params()))
	}
	return b.String()
}

func fmtCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	}
	return fmt.Sprint(n)
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}

func newModelGenCmd() *cobra.Command {
	var arch, typeName, out string
	var seed uint64
	var quiet bool
	cmd := &cobra.Command{
		Use:   "gen --arch NAME --type TYPE -o FILE",
		Short: "Write a GGUF model of a preset shape with deterministic random weights",
		Long: `gen writes a llama.cpp-loadable GGUF file with the shape of a real model and
random weights drawn deterministically from --seed: the same arch, type and seed
always give byte-identical files, and files of different types with the same
seed hold the same weights before quantisation. Weight matrices are normal with
std 1/sqrt(fan_in), RMSNorm weights near 1 (in f32), so a forward pass is
numerically ordinary. The file streams out tensor by tensor (an 8B model needs
no more than a few MiB of memory) to a temporary file renamed into place at the
end: an error or Ctrl-C leaves nothing behind.

Presets:
` + presetList(),
		Example: `  edgebench model gen --arch stories15M --type f32 -o s15-f32.gguf
  edgebench model gen --arch SmolLM2-135M --type q4_0 --seed 7 -o smol-q4_0.gguf
  edgebench model gen --arch Llama-3.2-1B --type q8_0 -o l32-1b-q8_0.gguf
  edgebench model gen --arch Llama-3.2-1B --type q4_k_m -o l32-1b-q4_k_m.gguf`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if arch == "" {
				return fmt.Errorf("model gen: --arch is required (presets: %s)", strings.Join(model.PresetNames(), ", "))
			}
			if out == "" {
				return fmt.Errorf("model gen: -o FILE is required")
			}
			c, err := model.Preset(arch)
			if err != nil {
				return err
			}
			q, err := model.ParseQuant(typeName)
			if err != nil {
				return err
			}
			if !q.Mix {
				if err := c.CheckType(q.Type); err != nil {
					return err
				}
			}
			return runModelGen(cmd, c, q, seed, out, quiet)
		},
	}
	f := cmd.Flags()
	f.StringVar(&arch, "arch", "", "preset name (case-insensitive), e.g. SmolLM2-135M")
	f.StringVar(&typeName, "type", "q8_0", "weight type for matrices and token_embd (f32, f16, q8_0, q4_0, q4_k, ...; norms stay f32), or llama.cpp's k-quant mixture q4_k_m or q5_k_m (q6_K for output and some attn_v/ffn_down, llama-quantize's rules)")
	f.Uint64Var(&seed, "seed", 1, "random seed; the same seed gives the same file")
	f.StringVarP(&out, "output", "o", "", "output file")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	return cmd
}

func runModelGen(cmd *cobra.Command, c model.Config, t model.Quant, seed uint64, out string, quiet bool) error {
	total := c.QuantWeightBytes(t)
	stderr := cmd.ErrOrStderr()
	// Progress only where it is worth watching: files above 64 MiB, every
	// 10% of the bytes.
	var progress func(done, total int64)
	if !quiet && total > 64<<20 {
		fmt.Fprintf(stderr, "generating %s %v (%s of weights) to %s\n", c.Name, t, fmtBytes(total), out)
		next := int64(10)
		progress = func(done, total int64) {
			if pct := done * 100 / total; pct >= next {
				fmt.Fprintf(stderr, "  %3d%%  %s\n", pct, fmtBytes(done))
				next = pct/10*10 + 10
			}
		}
	}
	start := time.Now()
	if err := model.GenerateQuant(cmd.Context(), out, c, t, seed, progress); err != nil {
		return err
	}
	el := time.Since(start)
	// Read the file back: what we report is what is on disk.
	f, err := gguf.Open(out)
	if err != nil {
		return err
	}
	defer f.Close()
	in := model.Inspect(f)
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s %v, seed %d, %d tensors, %s params, %s (%.3f bits/weight) in %.2fs\n",
		out, c.Name, t, seed, in.Total.Tensors, fmtCount(c.Params()), fmtBytes(in.FileBytes), in.Total.BitsPerWeight, el.Seconds())
	return nil
}

func newModelInspectCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Show a GGUF file's metadata, tensors, types, sizes and bits per weight",
		Long: `inspect reads any GGUF file (v2 or v3, any alignment, any mix of tensor types)
and prints its metadata (arrays longer than 8 elements are summarised), every
tensor with its type, dimensions (ggml order: the first is contiguous) and
bytes, totals per type with bits per weight, and the model shape when the file
is a llama or qwen2 model edgebench can run. --json prints the same for scripts.`,
		Example: `  edgebench model inspect smollm2-135m-q8_0.gguf
  edgebench model inspect --json Llama-3.2-1B-Instruct-Q4_K_M.gguf | jq .total`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runModelInspect(cmd.OutOrStdout(), args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of tables")
	return cmd
}

func runModelInspect(w io.Writer, path string, asJSON bool) error {
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	in := model.Inspect(f)
	if asJSON {
		return in.WriteJSON(w)
	}
	return in.WriteText(w)
}
