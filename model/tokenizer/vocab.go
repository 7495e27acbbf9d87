package tokenizer

import (
	"fmt"
	"strings"

	"github.com/edgebench/edgebench/model/gguf"
)

// Vocab is a tokenizer as llama.cpp stores it in GGUF metadata. AddToGGUF
// writes one; New builds a Tokenizer from one without a file. Token ids
// (BOS, EOS, Unknown, Padding) are -1 when absent.
type Vocab struct {
	Model  string      // ModelSPM ("llama") or ModelBPE ("gpt2")
	Pre    string      // BPE pre-tokenizer name (tokenizer.ggml.pre)
	Tokens []string    // token texts, by id
	Scores []float32   // SentencePiece merge scores (nil: all 0)
	Types  []TokenType // nil: all normal
	Merges []string    // BPE merges, "left right", best (rank 0) first

	BOS, EOS, Unknown, Padding int
	AddBOS, AddEOS             bool
	AddSpacePrefix             bool // SentencePiece dummy prefix (llama.cpp default true for "llama")

	extra map[string]int // EOT, EOM and FIM ids read from a file, by key
}

// New builds a tokenizer from v; name is used in error messages.
func New(name string, v *Vocab) (*Tokenizer, error) {
	return build(name, v)
}

// KV returns the metadata llama.cpp reads for v, after checking that v
// builds a valid tokenizer.
func (v *Vocab) KV() ([]gguf.KV, error) {
	if _, err := build("vocab", v); err != nil {
		return nil, err
	}
	kv := []gguf.KV{
		{Key: KeyModel, Value: gguf.String(v.Model)},
	}
	if v.Model == ModelBPE {
		pre := v.Pre
		if pre == "" {
			pre = "default"
		}
		kv = append(kv, gguf.KV{Key: KeyPre, Value: gguf.String(pre)})
	}
	kv = append(kv, gguf.KV{Key: KeyTokens, Value: gguf.Array(v.Tokens)})
	if v.Scores != nil {
		kv = append(kv, gguf.KV{Key: KeyScores, Value: gguf.Array(v.Scores)})
	}
	types := make([]int32, len(v.Tokens))
	for i := range types {
		types[i] = int32(TypeNormal)
		if v.Types != nil {
			types[i] = int32(v.Types[i])
		}
	}
	kv = append(kv, gguf.KV{Key: KeyTokenType, Value: gguf.Array(types)})
	if v.Model == ModelBPE {
		kv = append(kv, gguf.KV{Key: KeyMerges, Value: gguf.Array(v.Merges)})
	}
	for _, id := range []struct {
		key string
		id  int
	}{{KeyBOS, v.BOS}, {KeyEOS, v.EOS}, {KeyUnknown, v.Unknown}, {KeyPadding, v.Padding}} {
		if id.id >= 0 {
			kv = append(kv, gguf.KV{Key: id.key, Value: gguf.Uint32(uint32(id.id))})
		}
	}
	kv = append(kv,
		gguf.KV{Key: KeyAddBOS, Value: gguf.Bool(v.AddBOS)},
		gguf.KV{Key: KeyAddEOS, Value: gguf.Bool(v.AddEOS)})
	if v.Model == ModelSPM {
		kv = append(kv, gguf.KV{Key: KeyAddSpacePrefix, Value: gguf.Bool(v.AddSpacePrefix)})
	}
	return kv, nil
}

// AddToGGUF validates v and sets its metadata on w (before any tensor data
// is written). It replaces a tokenizer.ggml.model of "none" set earlier,
// since SetKV keeps the key's position and takes the new value.
func AddToGGUF(w *gguf.Writer, v *Vocab) error {
	kv, err := v.KV()
	if err != nil {
		return err
	}
	for _, e := range kv {
		w.SetKV(e.Key, e.Value)
	}
	return nil
}

// SPM special ids of ByteLevelSPM, in llama's order.
const (
	SyntheticUnknown = 0
	SyntheticBOS     = 1
	SyntheticEOS     = 2
)

// ByteLevelSPM returns a real, small SentencePiece vocabulary of exactly
// size tokens for synthetic models, so tools that tokenize text (llama.cpp
// aborts on "none") can run them: <unk>, <s>, </s>, the 256 byte-fallback
// tokens <0x00>..<0xFF>, then normal pieces: "▁", the printable ASCII
// characters, and words over "▁"+a..z in order of length, scored so shorter
// pieces merge first. Any text encodes (bytes fall back to <0xXX>), and
// English-like text merges into multi-character pieces. size must be at
// least 259.
func ByteLevelSPM(size int) (*Vocab, error) {
	const base = 3 + 256
	if size < base {
		return nil, fmt.Errorf("tokenizer: byte-level vocabulary needs at least %d tokens (3 control + 256 byte), model has %d", base, size)
	}
	v := &Vocab{
		Model: ModelSPM, Tokens: make([]string, 0, size), Scores: make([]float32, 0, size), Types: make([]TokenType, 0, size),
		BOS: SyntheticBOS, EOS: SyntheticEOS, Unknown: SyntheticUnknown, Padding: -1,
		AddBOS: true, AddSpacePrefix: true,
	}
	add := func(s string, ty TokenType, score float32) {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, ty)
		v.Scores = append(v.Scores, score)
	}
	add("<unk>", TypeUnknown, 0)
	add("<s>", TypeControl, 0)
	add("</s>", TypeControl, 0)
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), TypeByte, 0)
	}
	// Normal pieces score -(their index among normal pieces): earlier
	// (shorter) pieces win merges, as in a trained vocabulary where short
	// frequent pieces have higher log-probabilities.
	normal := func(s string) bool {
		if len(v.Tokens) >= size {
			return false
		}
		add(s, TypeNormal, -float32(len(v.Tokens)-base))
		return true
	}
	if !normal(spaceMarker) {
		return v, nil
	}
	for c := byte('!'); c <= '~'; c++ {
		if !normal(string(c)) {
			return v, nil
		}
	}
	// Words of length L = 2, 3, ... : first "▁" + (L-1) letters, then L
	// letters. Every prefix of a word is an earlier piece, so any word in the
	// vocabulary is reachable by SentencePiece's pairwise merges.
	letters := func(n int, yield func(string) bool) bool {
		buf := make([]byte, n)
		var rec func(i int) bool
		rec = func(i int) bool {
			if i == n {
				return yield(string(buf))
			}
			for c := byte('a'); c <= 'z'; c++ {
				buf[i] = c
				if !rec(i + 1) {
					return false
				}
			}
			return true
		}
		return rec(0)
	}
	for l := 2; len(v.Tokens) < size; l++ {
		if !letters(l-1, func(w string) bool { return normal(spaceMarker + w) }) {
			break
		}
		if !letters(l, normal) {
			break
		}
	}
	return v, nil
}

// ByteLevelBPE returns a real, small byte-level BPE vocabulary of exactly
// size tokens with the pre-tokenizer pre ("llama-bpe", "qwen2", "smollm",
// "gpt-2" or "default"), for synthetic models of families whose real
// tokenizer is byte-level BPE (Llama 3, Qwen2, SmolLM). Ids 0-255 are the
// byte-level characters (id = byte value), then words over "Ġ"(space)+a..z
// in order of length, each made by the merge of its longest proper prefix
// with its last letter (ranked in that order), and three control tokens at
// the end: <|begin_of_text|>, <|end_of_text|>, <|eot_id|> for llama-bpe
// (which adds BOS), <|endoftext|>, <|im_start|>, <|im_end|> for the others
// (no BOS; <|endoftext|> is EOS and padding). size must be at least 259.
func ByteLevelBPE(size int, pre string) (*Vocab, error) {
	const base = 256 + 3
	if size < base {
		return nil, fmt.Errorf("tokenizer: byte-level BPE vocabulary needs at least %d tokens (256 byte + 3 control), model has %d", base, size)
	}
	if _, _, err := preTokenizer(pre); err != nil || pre == "" {
		return nil, fmt.Errorf("tokenizer: byte-level BPE vocabulary: pre-tokenizer %q: not supported", pre)
	}
	v := &Vocab{Model: ModelBPE, Pre: pre, Tokens: make([]string, 0, size), Types: make([]TokenType, 0, size),
		BOS: -1, EOS: -1, Unknown: -1, Padding: -1}
	for b := range 256 {
		v.Tokens = append(v.Tokens, string(byteToRune[b]))
		v.Types = append(v.Types, TypeNormal)
	}
	space := string(byteToRune[' '])
	words := size - base
	add := func(prefix, last string) bool {
		if words == 0 {
			return false
		}
		words--
		v.Tokens = append(v.Tokens, prefix+last)
		v.Types = append(v.Types, TypeNormal)
		v.Merges = append(v.Merges, prefix+" "+last)
		return true
	}
	// Words of length L = 2, 3, ...: "Ġ" + (L-1) letters, then L letters,
	// each in lexical order; a word's prefix is always an earlier token.
	var rec func(prefix string, n int) bool
	rec = func(prefix string, n int) bool {
		for c := byte('a'); c <= 'z'; c++ {
			if n == 1 {
				if !add(prefix, string(c)) {
					return false
				}
			} else if !rec(prefix+string(c), n-1) {
				return false
			}
		}
		return true
	}
	for l := 2; words > 0; l++ {
		if !rec(space, l-1) {
			break
		}
		// Letter-only words: the first letter is a byte token, so the
		// recursion starts from each letter.
		for c := byte('a'); c <= 'z' && words > 0; c++ {
			if !rec(string(c), l-1) {
				break
			}
		}
	}
	specials := []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}
	if preLlama3[pre] {
		specials = []string{"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"}
	}
	first := len(v.Tokens)
	for _, sp := range specials {
		v.Tokens = append(v.Tokens, sp)
		v.Types = append(v.Types, TypeControl)
	}
	if preLlama3[pre] {
		v.BOS, v.EOS, v.AddBOS = first, first+1, true
	} else {
		v.EOS, v.Padding = first, first
	}
	return v, nil
}

// SyntheticKV is the tokenizer metadata for a synthetic model with a
// vocabulary of size tokens: ByteLevelSPM(size) when pre is "" (Llama 1/2,
// TinyLlama and other SentencePiece families), else ByteLevelBPE(size, pre)
// ("llama-bpe" for Llama 3, "qwen2" for Qwen2, "smollm" for SmolLM).
func SyntheticKV(size int, pre string) ([]gguf.KV, error) {
	var v *Vocab
	var err error
	if pre == "" {
		v, err = ByteLevelSPM(size)
	} else {
		v, err = ByteLevelBPE(size, pre)
	}
	if err != nil {
		return nil, err
	}
	return v.KV()
}

// ReplaceKV returns kv with every tokenizer.ggml.* entry removed and tok
// appended, for callers that build a metadata list before writing it.
func ReplaceKV(kv, tok []gguf.KV) []gguf.KV {
	out := make([]gguf.KV, 0, len(kv)+len(tok))
	for _, e := range kv {
		if !strings.HasPrefix(e.Key, "tokenizer.ggml.") {
			out = append(out, e)
		}
	}
	return append(out, tok...)
}
