package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/edgebench/edgebench/compress"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/model/tokenizer"
)

// newCompressCmd is "edgebench model compress" (registered by newModelCmd).
func newCompressCmd() *cobra.Command {
	var typeName, method, prune, sparsity, calib, out string
	var calibSeq, calibMax int
	var seed uint64
	var damp float64
	var quiet bool
	cmd := &cobra.Command{
		Use:   "compress IN.gguf -o OUT.gguf",
		Short: "Quantize (rtn, awq, gptq) and prune (magnitude, wanda, sparsegpt) a GGUF model",
		Long: `compress rewrites a Llama-family GGUF with its block matrices (attn_q/k/v/output,
ffn_gate/up/down) compressed, and prints each matrix's relative output error on
the calibration inputs for a baseline (RTN; with pruning, magnitude pruning then
RTN) and for the chosen method.

Methods: rtn rounds each ggml block (no calibration); awq searches per-input
scales s = mean|x|^α and folds 1/s into the preceding RMSNorm (q/k/v, gate/up),
into ffn_up's rows (ffn_down) or, without grouped-query attention, into attn_v's
rows (attn_output); gptq quantizes column by column with Hessian
error compensation, fitting each ggml block's scales when the sweep reaches it.
Pruners: magnitude, wanda (|W|·||x||), sparsegpt (OBS updates; with --method
gptq pruning and quantization happen in one sweep). --sparsity is a fraction
(0.5) or N:M, keeping N of every M weights (2:4, 4:8). Pruned weights stay
dense with exact zeros, or use a sparse type (q4_0_24/q8_0_24 for 2:4,
q4_0_bm/q8_0_bm for 32:64). The file records this under edgebench.compress.*.

Calibration (awq, gptq, wanda, sparsegpt): random:N uniformly random tokens, or a
text FILE tokenized with the model's tokenizer; the tokens run through the model
layer by layer (a float32 forward over the model being written) to collect each
matrix's inputs. token_embd and output.weight are rounded (rtn) into --type.`,
		Example: `  edgebench model compress l1b-f16.gguf --type q4_0 --method gptq --calib random:128 -o l1b-gptq-q4_0.gguf
  edgebench model compress s15.gguf --type q3_k --method awq --calib random:256 -o s15-awq-q3_k.gguf
  edgebench model compress s15.gguf --type f16 --prune sparsegpt --sparsity 2:4 --calib random:256 -o s15-2of4.gguf
  edgebench model compress s15.gguf --type q4_0_24 --prune wanda --sparsity 2:4 --calib wiki.txt -o s15-q4_0_24.gguf`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("compress: -o OUT.gguf is required")
			}
			t, err := kernels.ParseType(typeName)
			if err != nil {
				return fmt.Errorf("compress: %v", err)
			}
			opts := compress.Options{Type: t, Method: method, Prune: prune, Damp: damp}
			if sparsity != "" {
				if opts.Sparsity, err = compress.ParseSparsity(sparsity); err != nil {
					return fmt.Errorf("compress: %v", err)
				}
			}
			in, err := gguf.Open(args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			if calib != "" {
				if opts.Calib, opts.CalibDesc, err = loadCalib(in, calib, calibSeq, calibMax, seed); err != nil {
					return err
				}
			}
			return runCompress(cmd, in, out, opts, quiet)
		},
	}
	f := cmd.Flags()
	f.StringVar(&typeName, "type", "q4_0", "type of the block matrices: "+strings.Join(kernels.SupportedNames(), ", ")+" (gptq: "+strings.Join(compress.GPTQTypes(), ", ")+")")
	f.StringVar(&method, "method", "rtn", "quantization method: "+strings.Join(compress.Methods, ", "))
	f.StringVar(&prune, "prune", "none", "pruner: "+strings.Join(compress.Pruners, ", "))
	f.StringVar(&sparsity, "sparsity", "", "with --prune: fraction of zeros (0.5) or N:M, keep N of every M (2:4, 4:8)")
	f.StringVar(&calib, "calib", "", "calibration: random:N (N random tokens) or a text FILE")
	f.IntVar(&calibSeq, "calib-seq", 128, "calibration sequence length in tokens")
	f.IntVar(&calibMax, "calib-max", 1024, "at most this many calibration tokens from a FILE")
	f.Uint64Var(&seed, "seed", 1, "seed for random:N calibration")
	f.Float64Var(&damp, "damp", 0.01, "GPTQ/SparseGPT dampening λ (H += λ·mean(diag H)·I)")
	f.StringVarP(&out, "output", "o", "", "output file")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress bar on stderr")
	return cmd
}

// loadCalib builds calibration sequences from random:N or a text file.
func loadCalib(in *gguf.File, spec string, seqLen, maxTokens int, seed uint64) ([][]int, string, error) {
	if seqLen <= 0 {
		return nil, "", fmt.Errorf("compress: --calib-seq %d: want > 0", seqLen)
	}
	if rest, ok := strings.CutPrefix(spec, "random:"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n <= 0 {
			return nil, "", fmt.Errorf("compress: --calib %q: want random:N with N > 0", spec)
		}
		c, err := model.ConfigFromGGUF(in)
		if err != nil {
			return nil, "", err
		}
		return compress.RandomCalibration(c.Vocab, n, seqLen, seed), fmt.Sprintf("random:%d seed %d seq %d", n, seed, seqLen), nil
	}
	text, err := os.ReadFile(spec)
	if err != nil {
		return nil, "", fmt.Errorf("compress: --calib: %v", err)
	}
	tok, err := tokenizer.FromGGUF(in)
	if err != nil {
		return nil, "", fmt.Errorf("compress: --calib %s: the model has no usable tokenizer: %v", spec, err)
	}
	ids := tok.Encode(string(text), true)
	if len(ids) > maxTokens {
		ids = ids[:maxTokens]
	}
	if len(ids) == 0 {
		return nil, "", fmt.Errorf("compress: --calib %s: no tokens", spec)
	}
	var seqs [][]int
	for len(ids) > 0 {
		n := min(seqLen, len(ids))
		seqs = append(seqs, ids[:n])
		ids = ids[n:]
	}
	return seqs, fmt.Sprintf("file %s (%d tokens, seq %d)", spec, min(maxTokens, len(tok.Encode(string(text), true))), seqLen), nil
}

func runCompress(cmd *cobra.Command, in *gguf.File, out string, opts compress.Options, quiet bool) error {
	var bar *progressbar.ProgressBar
	if !quiet {
		opts.Progress = func(done, total int64, tensor string) {
			if bar == nil {
				bar = progressbar.NewOptions64(total,
					progressbar.OptionSetWriter(cmd.ErrOrStderr()),
					progressbar.OptionSetDescription("compress"),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionSetElapsedTime(true),
					progressbar.OptionShowDescriptionAtLineEnd(),
					progressbar.OptionThrottle(200*time.Millisecond),
					progressbar.OptionSetWidth(30))
			}
			bar.Describe(tensor)
			_ = bar.Set64(done)
		}
	}
	rep, err := compress.ModelContext(cmd.Context(), in, out, opts)
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(cmd.ErrOrStderr())
	}
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if err := rep.WriteText(w); err != nil {
		return err
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "wrote %s (%s)\n", out, fmtBytes(st.Size()))
	return err
}
