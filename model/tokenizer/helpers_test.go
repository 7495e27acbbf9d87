package tokenizer

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/model/gguf"
)

// writeFile writes a GGUF file holding only the given metadata and opens it.
func writeFile(t testing.TB, name string, kv []gguf.KV) *gguf.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	w, err := gguf.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w.SetKV("general.architecture", gguf.String("llama"))
	for _, e := range kv {
		w.SetKV(e.Key, e.Value)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// load writes v to a GGUF file and reads it back with FromGGUF, so every
// fixture goes through the real metadata path.
func load(t testing.TB, name string, v *Vocab) *Tokenizer {
	t.Helper()
	kv, err := v.KV()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := FromGGUF(writeFile(t, name, kv))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// spmVocab is a tiny SentencePiece vocabulary: <unk> <s> </s>, 256 byte
// tokens, single characters, and scored pieces chosen so merges can be
// worked out by hand (see TestSPMKnownAnswers).
func spmVocab() *Vocab {
	v := &Vocab{Model: ModelSPM, BOS: 1, EOS: 2, Unknown: 0, Padding: -1, AddBOS: true, AddSpacePrefix: true}
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
	for _, c := range "▁abcdehlorwxyz" {
		add(string(c), TypeNormal, -100)
	}
	for _, p := range []struct {
		s     string
		score float32
	}{
		{"ll", -1}, {"he", -2}, {"▁he", -3}, {"llo", -4}, {"▁hello", -5},
		{"▁w", -6}, {"or", -7}, {"▁wor", -8}, {"ld", -9}, {"▁world", -10},
		{"ab", -20}, {"bc", -20}, // equal scores: the leftmost pair merges first
		{"xy", -30}, {"yz", -29}, // yz scores higher: it wins although xy is left of it
	} {
		add(p.s, TypeNormal, p.score)
	}
	add("<|user|>", TypeUserDefined, 0)
	return v
}

// byteLevelTokens lists the 256 byte-level characters in byte order, so
// that token id b is byte b.
func byteLevelTokens() []string {
	out := make([]string, 256)
	for b := range 256 {
		out[b] = string(byteToRune[b])
	}
	return out
}

// bpeVocab is a tiny byte-level BPE vocabulary with merges for "hello" and
// " world", a token "xyz" reachable by no merge, a merge joining "3" and "4",
// and llama3-style control tokens.
func bpeVocab(pre string) *Vocab {
	v := &Vocab{Model: ModelBPE, Pre: pre, Tokens: byteLevelTokens(), BOS: -1, EOS: -1, Unknown: -1, Padding: -1}
	v.Merges = []string{"l l", "h e", "Ġ w", "o r", "he ll", "hell o", "Ġw or", "Ġwor l", "Ġworl d", "3 4"}
	for _, m := range v.Merges {
		v.Tokens = append(v.Tokens, strings.Replace(m, " ", "", 1))
	}
	v.Tokens = append(v.Tokens, "xyz")
	v.Types = make([]TokenType, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	for _, s := range []string{"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"} {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, TypeControl)
	}
	v.BOS, v.EOS = len(v.Tokens)-3, len(v.Tokens)-2
	v.AddBOS = pre == "llama-bpe"
	return v
}

func ids(t *testing.T, tok *Tokenizer, pieces ...string) []int {
	t.Helper()
	out := make([]int, len(pieces))
	for i, p := range pieces {
		id, ok := tok.TokenID(p)
		if !ok {
			t.Fatalf("no token %q", p)
		}
		out[i] = id
	}
	return out
}

func show(tok *Tokenizer, x []int) string {
	s := make([]string, len(x))
	for i, id := range x {
		s[i] = fmt.Sprintf("%d:%q", id, tok.TokenString(id))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// roundTripTexts cover ASCII, UTF-8 of 2/3/4 bytes, combining marks,
// whitespace runs, newlines, digits and specials-looking text.
var roundTripTexts = []string{
	"",
	"hello world",
	"Hello, World! I'm here; you're there, they'll go.",
	" leading space",
	"trailing spaces   ",
	"   ",
	"a  b   c    d",
	"tabs\tand\t\ttabs",
	"line1\nline2\r\nline3\n\n\nend\n",
	" \n \n",
	"numbers 1 12 123 1234 12345 1234567890 3.14159 -42",
	"日本語のテキストと中文",
	"emoji 👋🏽 and 👨‍👩‍👧 family 🎉!",
	"combining e\u0301 n\u0303 a\u0308\u0304",
	"Ünïcödé ΑΒΓ кириллица العربية ١٢٣٤",
	"nbsp\u00a0here\u3000ideographic",
	"<s> and </s> and <|eot_id|> typed as text",
	"<|user|>hello<|user|> world",
	"x!!!\n\ny ...??",
	"DON'T STOP 'til it's done",
}
