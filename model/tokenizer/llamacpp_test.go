package tokenizer

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/edgebench/edgebench/model/gguf"
)

// TestLlamaCppTokenizer compares this package with llama.cpp itself: the
// test vocabularies are written as GGUF files (with the llama hparams
// llama.cpp needs to load a vocabulary-only model), tokenized by
// llama.cpp's llama_tokenize through the node-llama-cpp package, and the
// token ids must be identical, with and without parse_special. It also
// checks that llama_detokenize of our ids equals an emulation built from
// Piece (leading-space removal and clean_up_tokenization_spaces as
// llama.cpp applies them), which validates every token's piece.
//
// It runs when $EDGEBENCH_NODE_LLAMA_CPP names the directory node-llama-cpp
// was installed into (`npm install node-llama-cpp` there; the transformer's
// cross-check reads the same variable), or the package directory itself, and
// is skipped otherwise.
func TestLlamaCppTokenizer(t *testing.T) {
	pkg := nodeLlamaCppPackage()
	if pkg == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("EDGEBENCH_NODE_LLAMA_CPP not set: CI (.ci/run) installs node-llama-cpp and must run this check")
		}
		t.Skip("set EDGEBENCH_NODE_LLAMA_CPP to the node-llama-cpp package directory to compare with llama.cpp")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found")
	}
	synth, err := ByteLevelSPM(2000)
	if err != nil {
		t.Fatal(err)
	}
	vocabs := map[string]*Vocab{"spm": spmVocab(), "synthetic": synth}
	for _, pre := range []string{"llama-bpe", "qwen2", "smollm", "gpt-2", "default"} {
		vocabs[pre] = bpeVocab(pre)
		vocabs[pre+"-rich"] = bpeRichVocab(pre)
		if vocabs[pre+"-synthetic"], err = ByteLevelBPE(3000, pre); err != nil {
			t.Fatal(err)
		}
	}
	texts := append(append([]string{}, roundTripTexts...),
		"hello", "hell", "  hello", "abc", "xyz", "hé", "a\nb", "<|user|>hello", "<s>", "<s>hello</s>",
		"hellohello", "12345", "1345", "hello<|eot_id|>", "I'm DON'T 'S 'll",
		"\u00a0\u2003 wide\u3000space", "x\r\n\r\ny\r", "(( [ {x} ] ))", "ends with space ",
		"\x7f\x01control\x1b[0m", "ﬁ ligature, Ⅻ roman, ½ half, ² sup",
	)
	texts = append(texts, randomTexts(400, 1)...)
	for _, s := range texts {
		if !utf8.ValidString(s) {
			t.Fatalf("test text %q is not valid UTF-8 (JSON would alter it)", s)
		}
	}
	dir := t.TempDir()
	type casesT struct {
		Models map[string]string  `json:"models"`
		Texts  []string           `json:"texts"`
		IDs    map[string][][]int `json:"ids"`
	}
	cases := casesT{Models: map[string]string{}, Texts: texts, IDs: map[string][][]int{}}
	toks := map[string]*Tokenizer{}
	for name, v := range vocabs {
		path := filepath.Join(dir, name+".gguf")
		w, err := gguf.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range []gguf.KV{
			{Key: "general.architecture", Value: gguf.String("llama")},
			{Key: "llama.context_length", Value: gguf.Uint32(64)},
			{Key: "llama.embedding_length", Value: gguf.Uint32(64)},
			{Key: "llama.block_count", Value: gguf.Uint32(1)},
			{Key: "llama.feed_forward_length", Value: gguf.Uint32(64)},
			{Key: "llama.attention.head_count", Value: gguf.Uint32(1)},
			{Key: "llama.attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-5)},
			{Key: "llama.rope.dimension_count", Value: gguf.Uint32(64)},
		} {
			w.SetKV(e.Key, e.Value)
		}
		if err := AddToGGUF(w, v); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		tok, err := FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		toks[name] = tok
		cases.Models[name] = path
		var seqs [][]int
		for _, s := range texts {
			seqs = append(seqs, tok.Encode(s, true), tok.EncodeSpecial(s, false))
		}
		for id := range min(tok.VocabSize(), 2500) {
			seqs = append(seqs, []int{id})
		}
		cases.IDs[name] = seqs
	}
	out := runLlamaCppTokenize(t, node, pkg, dir, cases, 3*time.Minute)
	var got map[string]struct {
		Plain        [][]int  `json:"plain"`
		Special      [][]int  `json:"special"`
		Detok        []string `json:"detok"`
		DetokSpecial []string `json:"detokSpecial"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output: %v\n%s", err, out)
	}
	for name, tok := range toks {
		r, ok := got[name]
		if !ok || len(r.Plain) != len(texts) || len(r.Detok) != len(cases.IDs[name]) {
			t.Fatalf("%s: llama.cpp returned no or incomplete results", name)
		}
		bad := 0
		for i, s := range texts {
			if ours := tok.Encode(s, false); !equalInts(ours, r.Plain[i]) {
				bad++
				t.Errorf("%s: Encode(%q):\n ours  %s\n llama %s", name, s, show(tok, ours), show(tok, r.Plain[i]))
			}
			if ours := tok.EncodeSpecial(s, false); !equalInts(ours, r.Special[i]) {
				bad++
				t.Errorf("%s: EncodeSpecial(%q):\n ours  %s\n llama %s", name, s, show(tok, ours), show(tok, r.Special[i]))
			}
		}
		for i, seq := range cases.IDs[name] {
			for _, special := range []bool{false, true} {
				want := r.Detok[i]
				if special {
					want = r.DetokSpecial[i]
				}
				if ours := llamaDetokenize(tok, seq, special); normFFFD(ours) != normFFFD(want) {
					bad++
					t.Errorf("%s: detokenize(%s, special=%v): ours %q, llama %q", name, show(tok, seq), special, ours, want)
				}
			}
			if bad > 20 {
				t.Fatalf("%s: too many differences", name)
			}
		}
		t.Logf("%s: %d texts x 2 modes tokenized and %d id sequences detokenized identically to llama.cpp", name, len(texts), len(cases.IDs[name]))
	}
}

// randomTexts makes deterministic strings mixing the character classes the
// pre-tokenizers distinguish: letters (ASCII, accented, Cyrillic, CJK),
// digits (ASCII, Arabic-Indic, fullwidth), apostrophes and contractions,
// punctuation and symbols, emoji with modifiers and ZWJ, combining marks,
// and runs of spaces, tabs, CR, LF and non-ASCII spaces.
func randomTexts(n int, seed uint32) []string {
	atoms := []string{
		"a", "b", "e", "h", "l", "o", "t", "z", "A", "Q", "ü", "é", "ж", "Я", "東", "語", "ﬁ",
		"0", "1", "2", "3", "7", "9", "٣", "５", "½", "Ⅻ",
		"'", "'s", "'T", "'re", "'LL", "'d", "'x",
		".", ",", "!", "?", "-", "_", "$", "+", "=", "<", ">", "^", "~", "|", "`", "(", "]", "{", "@", "#", "%", "&", "*", "/", "\\", "\"", ":", ";",
		"👋", "🏽", "\u200d", "🎉", "©", "™", "\u0301", "\u0308",
		" ", " ", " ", "  ", "\t", "\n", "\r\n", "\n\n", "\u00a0", "\u3000", "\u2003", "\u0085",
		"hello", " world", "xyz", "<|user|>", "<s>", "<|eot_id|>", "</s>",
	}
	x := seed
	next := func(m int) int {
		x = x*1664525 + 1013904223
		return int(x>>8) % m
	}
	out := make([]string, n)
	for i := range out {
		var b strings.Builder
		for range 1 + next(24) {
			b.WriteString(atoms[next(len(atoms))])
		}
		out[i] = b.String()
	}
	return out
}

// bpeRichVocab merges every pair of printable ASCII characters and the
// byte-level space, tab, CR and LF, in a shuffled rank order, so that every
// pre-token boundary shows in the ids (a pair merges only inside a
// pre-token) and rank order decides between overlapping pairs.
func bpeRichVocab(pre string) *Vocab {
	v := bpeVocab(pre)
	v.Tokens = byteLevelTokens()
	v.Merges = nil
	var chars []string
	for c := byte('!'); c <= '~'; c++ {
		chars = append(chars, string(c))
	}
	chars = append(chars, "Ġ", "ĉ", "Ċ", "č") // space, tab, LF, CR
	var pairs [][2]string
	for _, a := range chars {
		for _, b := range chars {
			pairs = append(pairs, [2]string{a, b})
		}
	}
	x := uint32(12345)
	for i := len(pairs) - 1; i > 0; i-- {
		x = x*1664525 + 1013904223
		j := int(x>>8) % (i + 1)
		pairs[i], pairs[j] = pairs[j], pairs[i]
	}
	for _, p := range pairs {
		v.Merges = append(v.Merges, p[0]+" "+p[1])
		v.Tokens = append(v.Tokens, p[0]+p[1])
	}
	v.Types = make([]TokenType, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	for _, s := range []string{"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"} {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, TypeControl)
	}
	v.Tokens = append(v.Tokens, "<|user|>")
	v.Types = append(v.Types, TypeUserDefined)
	v.BOS, v.EOS = len(v.Tokens)-4, len(v.Tokens)-3
	return v
}

// normFFFD collapses runs of invalid bytes and U+FFFD into one U+FFFD: the
// JavaScript side receives llama.cpp's bytes as a string, with invalid
// UTF-8 already replaced (per maximal subpart, not per byte as Go does).
func normFFFD(s string) string {
	var b strings.Builder
	last := false
	for _, r := range s {
		if r == utf8.RuneError {
			if !last {
				b.WriteRune(r)
			}
			last = true
			continue
		}
		last = false
		b.WriteRune(r)
	}
	return b.String()
}

// llamaDetokenize is llama.cpp's llama_detokenize(remove_special=false)
// expressed with Piece: the first token loses one leading space when the
// vocabulary adds a space prefix, and BPE vocabularies other than qwen2 and
// smollm apply clean_up_tokenization_spaces.
func llamaDetokenize(tok *Tokenizer, ids []int, special bool) string {
	var text []byte
	removeSpace := tok.AddSpacePrefix()
	for _, id := range ids {
		p := tok.Piece(id, special)
		if removeSpace && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		removeSpace = false
		text = append(text, p...)
	}
	if tok.Model() != ModelBPE || preQwen2[tok.Pre()] || preSmolLM[tok.Pre()] {
		return string(text)
	}
	// The three passes of llama.cpp's clean_spaces, in place as there.
	n := len(text)
	total := min(n, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			total--
		}
		text[total] = x
		total++
	}
	n, total = total, min(total, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if x == '\'' && i+1 < n && text[i-1] == ' ' && text[i+1] == ' ' {
			total--
			i++
			text[i] = 0
		}
		text[total] = x
		total++
	}
	n, total = total, min(total, 1)
	for i := 1; i < n; i++ {
		x := text[i]
		if text[i-1] == ' ' && x == '\'' && i+1 < n {
			switch x1 := text[i+1]; {
			case x1 == 's' || x1 == 'm':
				total--
			case x1 != 't' && x1 != 'd' && i+2 < n:
				if x2 := text[i+2]; (x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e') {
					total--
				}
			}
		}
		text[total] = x
		total++
	}
	return string(text[:total])
}

// nodeLlamaCppPackage resolves $EDGEBENCH_NODE_LLAMA_CPP to the package
// directory: the variable may name the install directory (holding
// node_modules/node-llama-cpp) or the package itself.
func nodeLlamaCppPackage() string {
	dir := os.Getenv("EDGEBENCH_NODE_LLAMA_CPP")
	if dir == "" {
		return ""
	}
	if p := filepath.Join(dir, "node_modules", "node-llama-cpp"); isDir(p) {
		return p
	}
	return dir
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// runLlamaCppTokenize writes cases as JSON into dir and runs
// testdata/llamacpp_tokenize.mjs on them with node-llama-cpp from pkg,
// returning what the script prints.
func runLlamaCppTokenize(t *testing.T, node, pkg, dir string, cases any, timeout time.Duration) []byte {
	t.Helper()
	js, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	casesPath := filepath.Join(dir, "cases.json")
	if err := os.WriteFile(casesPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "llamacpp_tokenize.mjs"), pkg, casesPath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	return out
}
