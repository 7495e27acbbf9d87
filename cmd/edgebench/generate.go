package main

import (
	"fmt"
	"github.com/edgebench/edgebench/results"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/model/tokenizer"
	"github.com/edgebench/edgebench/transformer"
)

func init() { register(newGenerateCmd) }

type generateFlags struct {
	prompt     string
	ids        string
	n          int
	temp       float64
	topK       int
	topP       float64
	seed       uint64
	threads    int
	ctx        int
	backend    string
	kvType     string
	special    bool
	ignoreEOS  bool
	quietStats bool
	noMmap     bool
	noWarmup   bool
}

func newGenerateCmd() *cobra.Command {
	var fl generateFlags
	cmd := &cobra.Command{
		Use:   "generate MODEL.gguf",
		Short: "Generate text from a prompt with the reference runtime, streaming tokens",
		Long: `generate tokenizes the prompt with the model's own tokenizer (read from the
GGUF metadata, as llama.cpp does; special-token texts such as <|eot_id|> in the
prompt are parsed as tokens), runs it through the reference runtime, and
samples up to -n tokens, printing each as soon as it is complete. The prompt is
printed first, as llama.cpp's examples do. Generation stops early at an
end-of-generation token unless --ignore-eos is given.

Sampling follows llama.cpp's default chain: top-k, top-p (on the probabilities
at temperature 1), temperature, then a draw from a generator seeded by --seed;
--temp 0 is greedy decoding. At the end, prefill and decode speed go to stderr.
Before the prompt, one decode step of its first token runs and is discarded
(llama.cpp's warm-up; --no-warmup skips it): the first pass through a model
faults in the mapped weights and the KV cache's memory, tens of ms that would
otherwise count as prompt time (a 3-token prompt on SmolLM2-135M q4_0: 19-28 ms
cold against 9 ms warm on a 2-vCPU VM). Its time is printed as warm-up.
A model whose weights plus KV cache would not fit in the available memory is
refused before loading.

Models without a tokenizer (tokenizer.ggml.model "none", such as synthetic
models from 'edgebench model gen') take the prompt as token ids with --ids and
print generated ids.`,
		Example: `  edgebench generate smollm2-135m-q8_0.gguf -p "The capital of France is" -n 32 --temp 0
  edgebench generate model.gguf -p "Once upon a time" -n 64 --temp 0.8 --top-k 40 --top-p 0.95 --seed 1 -t 4
  edgebench generate s15.gguf --ids 1,450,4996 -n 16`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGenerate(cmd, args[0], fl)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.prompt, "prompt", "p", "", "prompt text")
	f.StringVar(&fl.ids, "ids", "", "prompt as comma-separated token ids (for models without a tokenizer)")
	f.IntVarP(&fl.n, "n-predict", "n", 64, "number of tokens to generate")
	f.Float64Var(&fl.temp, "temp", 0.8, "sampling temperature; 0 = greedy")
	f.IntVar(&fl.topK, "top-k", 40, "keep the k most likely tokens; 0 = all")
	f.Float64Var(&fl.topP, "top-p", 0.95, "keep the most likely tokens up to this total probability; 1 = all")
	f.Uint64Var(&fl.seed, "seed", 1, "random seed for sampling")
	f.IntVarP(&fl.threads, "threads", "t", 0, "worker threads; 0 = all logical CPUs")
	f.IntVarP(&fl.ctx, "ctx-size", "c", 0, "KV cache length in tokens; 0 = min(model context, 4096)")
	f.StringVar(&fl.backend, "backend", "", "kernel backend (ref, go, avx2, avx512, neon); default: best for this CPU")
	f.StringVar(&fl.kvType, "kv-type", results.DefaultKVType, "KV cache element type: f16, f32 or q8_0 (q8_0 needs a head dim that is a multiple of 32)")
	f.BoolVar(&fl.special, "special", false, "print control tokens such as <|eot_id|> in the output")
	f.BoolVar(&fl.ignoreEOS, "ignore-eos", false, "keep generating past end-of-generation tokens")
	f.BoolVar(&fl.quietStats, "no-stats", false, "do not print timings to stderr")
	f.BoolVar(&fl.noWarmup, "no-warmup", false, "time the prompt cold: skip the untimed decode step that runs first")
	f.BoolVar(&fl.noMmap, "no-mmap", false, "read the weights into memory (huge pages where the OS has them) instead of mapping the file, like llama.cpp's --no-mmap: faster decode where the mapping's small pages cost TLB misses; slower load")
	return cmd
}

func runGenerate(cmd *cobra.Command, path string, fl generateFlags) error {
	if fl.n < 1 {
		return fmt.Errorf("generate: -n %d: need at least one token", fl.n)
	}
	if (fl.prompt == "") == (fl.ids == "") {
		return fmt.Errorf("generate: give the prompt either as text (-p) or as token ids (--ids)")
	}
	sampler, err := tokenizer.NewSampler(tokenizer.SamplerConfig{Temperature: fl.temp, TopK: fl.topK, TopP: fl.topP, Seed: fl.seed})
	if err != nil {
		return err
	}
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()

	var tok *tokenizer.Tokenizer
	var prompt []int
	if fl.ids != "" {
		if prompt, err = genParseIDs(fl.ids); err != nil {
			return err
		}
		// A tokenizer, when the file has one, still renders the output.
		tok, _ = tokenizer.FromGGUF(f)
	} else {
		if tok, err = tokenizer.FromGGUF(f); err != nil {
			return fmt.Errorf("%w; give the prompt as token ids with --ids", err)
		}
		prompt = tok.EncodeSpecial(fl.prompt, true)
		if len(prompt) == 0 {
			return fmt.Errorf("generate: the prompt has no tokens")
		}
	}

	kvType, err := kernels.ParseType(fl.kvType)
	if err != nil {
		return fmt.Errorf("generate: --kv-type: %w", err)
	}
	opts := transformer.Options{Threads: fl.threads, Backend: fl.backend, MaxContext: fl.ctx, KVType: kvType, NoMmap: fl.noMmap}
	if err := genCheckMemory(f, opts); err != nil {
		return err
	}
	loadStart := time.Now()
	m, err := transformer.Load(f, opts)
	if err != nil {
		return err
	}
	defer m.Close()
	loadTime := time.Since(loadStart)
	if vocab := m.Config().Vocab; tok != nil && tok.VocabSize() != vocab {
		return fmt.Errorf("generate: %s: tokenizer has %d tokens but the model's vocabulary is %d", path, tok.VocabSize(), vocab)
	}
	if len(prompt)+fl.n > m.MaxContext() {
		return fmt.Errorf("generate: prompt (%d tokens) + -n %d exceeds the context of %d tokens (raise --ctx-size or lower -n)", len(prompt), fl.n, m.MaxContext())
	}

	out := cmd.OutOrStdout()
	var stream *tokenizer.Stream
	if tok != nil {
		stream = tok.NewStream(fl.special)
		if fl.prompt != "" {
			io.WriteString(out, fl.prompt)
		} else {
			io.WriteString(out, tok.DecodeSpecial(prompt))
		}
	} else {
		fmt.Fprint(out, genJoinIDs(prompt))
	}

	var warmTime time.Duration
	if !fl.noWarmup {
		tw := time.Now()
		if _, err := m.Decode(prompt[0]); err != nil {
			return err
		}
		m.Reset()
		warmTime = time.Since(tw)
	}

	ctx := cmd.Context()
	t0 := time.Now()
	logits, err := m.Prefill(prompt)
	if err != nil {
		return err
	}
	prefillTime := time.Since(t0)

	var decodeTime, sampleTime time.Duration
	decoded, generated := 0, 0
	stop := ""
	for generated < fl.n {
		if ctx != nil && ctx.Err() != nil {
			stop = "interrupted"
			break
		}
		ts := time.Now()
		next := sampler.Sample(logits)
		sampleTime += time.Since(ts)
		generated++
		if tok != nil && !fl.ignoreEOS && tok.IsEOG(next) {
			if fl.special {
				io.WriteString(out, stream.Add(next))
			}
			stop = "end of generation"
			break
		}
		if stream != nil {
			io.WriteString(out, stream.Add(next))
		} else {
			fmt.Fprintf(out, " %d", next)
		}
		if generated == fl.n {
			break
		}
		td := time.Now()
		if logits, err = m.Decode(next); err != nil {
			return err
		}
		decodeTime += time.Since(td)
		decoded++
	}
	if stream != nil {
		io.WriteString(out, stream.Flush())
	}
	fmt.Fprintln(out)

	if !fl.quietStats {
		w := cmd.ErrOrStderr()
		fmt.Fprintf(w, "load:    %8.1f ms (%d threads, backend %s, KV cache %s)\n", genMS(loadTime), m.Threads(), m.Backend(), kvType)
		if !fl.noWarmup {
			fmt.Fprintf(w, "warm-up: %8.1f ms (one untimed decode step; --no-warmup to time the prompt cold)\n", genMS(warmTime))
		}
		fmt.Fprintf(w, "prefill: %8.1f ms for %4d tokens = %8.2f tok/s\n", genMS(prefillTime), len(prompt), genRate(len(prompt), prefillTime))
		fmt.Fprintf(w, "decode:  %8.1f ms for %4d tokens = %8.2f tok/s\n", genMS(decodeTime), decoded, genRate(decoded, decodeTime))
		fmt.Fprintf(w, "sample:  %8.1f ms for %4d tokens\n", genMS(sampleTime), generated)
		if stop != "" {
			fmt.Fprintf(w, "stopped: %s after %d tokens\n", stop, generated)
		}
	}
	if stop == "interrupted" {
		return ctx.Err()
	}
	return nil
}

// genMemAvailable is the kernel's estimate of memory available without
// swapping (MemAvailable), 0 when unknown; a variable so tests can set it.
var genMemAvailable = func() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			f := strings.Fields(rest)
			if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && len(f) == 2 && f[1] == "kB" {
				return kb << 10
			}
		}
	}
	return 0
}

// genCheckMemory refuses to load a model whose mapped weights plus the
// runtime's buffers (KV cache first of all) exceed the available memory,
// rather than letting the machine swap or the process be killed. Page-cached
// weights count as available, so a model that is already cached passes.
func genCheckMemory(f *gguf.File, opts transformer.Options) error {
	avail := genMemAvailable()
	if avail <= 0 {
		return nil
	}
	cfg, err := model.ConfigFromGGUF(f)
	if err != nil {
		return err
	}
	runtime, err := transformer.EstimateBytes(cfg, opts)
	if err != nil {
		return err
	}
	if need := f.Size + runtime; need > avail {
		return fmt.Errorf("generate: %s needs about %s (weights %s + KV cache and buffers %s) but %s is available; lower --ctx-size, use --kv-type q8_0 or a smaller model",
			f.Path, genBytes(need), genBytes(f.Size), genBytes(runtime), genBytes(avail))
	}
	return nil
}

func genBytes(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func genMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func genRate(n int, d time.Duration) float64 {
	if n == 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func genParseIDs(s string) ([]int, error) {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		id, err := strconv.Atoi(f)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("generate: --ids: %q is not a token id", f)
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("generate: --ids: no token ids")
	}
	return out, nil
}

func genJoinIDs(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, " ")
}
