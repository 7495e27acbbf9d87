package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/model/tokenizer"
	"github.com/edgebench/edgebench/quality"
	"github.com/edgebench/edgebench/transformer"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
)

func init() { register(newQualityCmd) }

type qualityFlags struct {
	text    string
	tokens  int
	seed    uint64
	threads int
	backend string
	asJSON  bool
}

// qualityResult is the JSON form of 'edgebench quality'.
type qualityResult struct {
	Ref      string         `json:"ref"`
	Test     string         `json:"test"`
	RefType  string         `json:"ref_type"`
	TestType string         `json:"test_type"`
	Source   string         `json:"source"` // "random" or the text file
	Seed     *uint64        `json:"seed,omitempty"`
	Tokens   int            `json:"tokens"`
	Report   quality.Report `json:"report"`
}

func newQualityCmd() *cobra.Command {
	var fl qualityFlags
	cmd := &cobra.Command{
		Use:   "quality REF.gguf TEST.gguf",
		Short: "Compare a compressed model's next-token distributions with a reference model's",
		Long: `quality runs the same token stream through REF and TEST (teacher forcing: each
position's input is the stream's next token, never a sampled one) and compares
their next-token distributions at every position: KL(P_ref ‖ P_test) in nats
(mean, 99th percentile, max), how often both models' most likely token agree,
and the mean change Δp = p_test(top_ref) − p_ref(top_ref) of the reference's
most likely token.

Without --text the stream is --tokens random token ids drawn with --seed (for
synthetic models, which have no tokenizer). With --text, the file is tokenized
with REF's tokenizer (BOS added as the vocabulary asks), the first --tokens
tokens are used (0 = all), and each model's perplexity over the text is
reported too. Both models must have the same vocabulary size. Streams longer
than the KV cache restart both caches (counted as restarts).`,
		Example: `  edgebench quality smollm2-f32.gguf smollm2-q4_0.gguf --tokens 256 --seed 1
  edgebench quality ref.gguf test.gguf --text wiki.txt --tokens 0 --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runQuality(cmd.OutOrStdout(), cmd, args[0], args[1], fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.text, "text", "", "text file to tokenize with REF's tokenizer (reports perplexity)")
	f.IntVar(&fl.tokens, "tokens", 256, "number of tokens in the stream; with --text, 0 = the whole text")
	f.Uint64Var(&fl.seed, "seed", 1, "seed of the random token stream (without --text)")
	f.IntVarP(&fl.threads, "threads", "t", 0, "worker threads per model; 0 = all logical CPUs")
	f.StringVar(&fl.backend, "backend", "", "kernel backend (ref, go, avx2, avx512, neon); default: best for this CPU")
	f.BoolVar(&fl.asJSON, "json", false, "print JSON instead of a table")
	return cmd
}

func runQuality(w io.Writer, cmd *cobra.Command, refPath, testPath string, fl qualityFlags) error {
	if fl.tokens < 0 || (fl.tokens == 0 && fl.text == "") {
		return fmt.Errorf("quality: --tokens %d: need at least one token", fl.tokens)
	}
	rf, err := gguf.Open(refPath)
	if err != nil {
		return err
	}
	defer rf.Close()
	tf, err := gguf.Open(testPath)
	if err != nil {
		return err
	}
	defer tf.Close()
	rc, err := model.ConfigFromGGUF(rf)
	if err != nil {
		return err
	}
	tc, err := model.ConfigFromGGUF(tf)
	if err != nil {
		return err
	}
	if rc.Vocab != tc.Vocab {
		return fmt.Errorf("quality: vocabulary sizes differ: %s has %d tokens, %s has %d", refPath, rc.Vocab, testPath, tc.Vocab)
	}

	res := qualityResult{Ref: refPath, Test: testPath, RefType: qualityWeightType(rf), TestType: qualityWeightType(tf)}
	var toks []int
	if fl.text != "" {
		tok, err := tokenizer.FromGGUF(rf)
		if err != nil {
			return fmt.Errorf("quality: --text needs REF's tokenizer: %w", err)
		}
		if tok.VocabSize() != rc.Vocab {
			return fmt.Errorf("quality: %s: tokenizer has %d tokens but the model's vocabulary is %d", refPath, tok.VocabSize(), rc.Vocab)
		}
		b, err := os.ReadFile(fl.text)
		if err != nil {
			return fmt.Errorf("quality: --text: %w", err)
		}
		toks = tok.Encode(string(b), true)
		if fl.tokens > 0 && len(toks) > fl.tokens {
			toks = toks[:fl.tokens]
		}
		if len(toks) < 2 {
			return fmt.Errorf("quality: %s: %d tokens; perplexity needs at least 2", fl.text, len(toks))
		}
		res.Source = fl.text
	} else {
		r := rand.New(rand.NewPCG(fl.seed, 0x9e3779b97f4a7c15))
		toks = make([]int, fl.tokens)
		for i := range toks {
			toks[i] = r.IntN(rc.Vocab)
		}
		res.Source = "random"
		seed := fl.seed
		res.Seed = &seed
	}
	res.Tokens = len(toks)

	// A KV cache as long as the stream (when the model allows it) avoids
	// both restarts and allocating the default 4096 positions for 256 tokens.
	ctxFor := func(c model.Config) int {
		if c.ContextLength > 0 && len(toks) > c.ContextLength {
			return 0
		}
		return len(toks)
	}
	ref, err := transformer.Load(rf, transformer.Options{Threads: fl.threads, Backend: fl.backend, MaxContext: ctxFor(rc)})
	if err != nil {
		return err
	}
	defer ref.Close()
	test, err := transformer.Load(tf, transformer.Options{Threads: fl.threads, Backend: fl.backend, MaxContext: ctxFor(tc)})
	if err != nil {
		return err
	}
	defer test.Close()

	res.Report, err = quality.Compare(cmd.Context(), ref, test, toks, quality.Options{Text: fl.text != ""})
	if err != nil {
		return err
	}
	if fl.asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return writeQualityTable(w, res)
}

// qualityWeightType names the type holding most of a file's tensor bytes
// (the matrices, as norms are small), which is what "q4_0 model" means.
func qualityWeightType(f *gguf.File) string {
	bytes := map[kernels.Type]int{}
	for _, t := range f.Tensors {
		bytes[t.Type] += len(t.Data)
	}
	best, most := "", -1
	for ty, n := range bytes {
		if n > most || (n == most && ty.String() < best) {
			best, most = ty.String(), n
		}
	}
	return best
}

func writeQualityTable(w io.Writer, res qualityResult) error {
	src := res.Source
	if res.Seed != nil {
		src = fmt.Sprintf("random (seed %d)", *res.Seed)
	}
	fmt.Fprintf(w, "reference: %s (%s)\n", res.Ref, res.RefType)
	fmt.Fprintf(w, "test:      %s (%s)\n", res.Test, res.TestType)
	fmt.Fprintf(w, "tokens:    %d, %s\n", res.Tokens, src)
	r := res.Report
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNone))
	t.Header("metric", "value")
	rows := [][]string{
		{"positions", strconv.Itoa(r.Positions)},
		{"mean KLD (nats)", fmt.Sprintf("%.6g", r.MeanKLD)},
		{"p99 KLD", fmt.Sprintf("%.6g", r.P99KLD)},
		{"max KLD", fmt.Sprintf("%.6g", r.MaxKLD)},
		{"same top token", fmt.Sprintf("%.2f%%", 100*r.SameTop)},
		{"mean Δp (top ref token)", fmt.Sprintf("%+.4g", r.MeanDeltaP)},
		{"mean p_ref (top ref token)", fmt.Sprintf("%.4g", r.MeanRefTopP)},
	}
	if r.Text {
		rows = append(rows,
			[]string{"perplexity ref", fmt.Sprintf("%.4f", r.RefPPL)},
			[]string{"perplexity test", fmt.Sprintf("%.4f", r.TestPPL)},
			[]string{"perplexity tokens", strconv.Itoa(r.PPLTokens)})
	}
	if r.Restarts > 0 {
		rows = append(rows, []string{"context restarts", strconv.Itoa(r.Restarts)})
	}
	for _, row := range rows {
		if err := t.Append(row[0], row[1]); err != nil {
			return err
		}
	}
	return t.Render()
}
