package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/edgebench/edgebench/model/gguf"
)

func TestSPMKnownAnswers(t *testing.T) {
	tok := load(t, "spm.gguf", spmVocab())
	for _, c := range []struct {
		text string
		want []string
	}{
		// "▁hello": ll(-1), he(-2), ▁he(-3), llo(-4), ▁hello(-5).
		{"hello", []string{"▁hello"}},
		// "▁hell": after ▁he+ll no token "▁hell" exists.
		{"hell", []string{"▁he", "ll"}},
		{"hello world", []string{"▁hello", "▁world"}},
		// Extra spaces stay single "▁" pieces; the last joins the word.
		{"  hello", []string{"▁", "▁", "▁hello"}},
		// ab and bc score equally: the leftmost pair wins.
		{"abc", []string{"▁", "ab", "c"}},
		// yz outscores xy although xy is further left.
		{"xyz", []string{"▁", "x", "yz"}},
		// é is not in the vocabulary: its UTF-8 bytes C3 A9 fall back.
		{"hé", []string{"▁", "h", "<0xC3>", "<0xA9>"}},
		{"a\nb", []string{"▁", "a", "<0x0A>", "b"}},
		// User-defined tokens are always cut out, and the text after them
		// gets the dummy prefix again.
		{"<|user|>hello", []string{"<|user|>", "▁hello"}},
		// Control-token text is plain text unless parsed as special.
		{"<s>", []string{"▁", "<0x3C>", "<0x73>", "<0x3E>"}},
	} {
		got := tok.Encode(c.text, false)
		if want := ids(t, tok, c.want...); !equalInts(got, want) {
			t.Errorf("Encode(%q) = %s, want %s", c.text, show(tok, got), show(tok, want))
		}
	}
	// Parsing specials: <s> becomes BOS, the text after it gets "▁".
	got := tok.EncodeSpecial("<s>hello</s>", false)
	if want := []int{1, ids(t, tok, "▁hello")[0], 2}; !equalInts(got, want) {
		t.Errorf("EncodeSpecial = %s, want %s", show(tok, got), show(tok, want))
	}
	if s := tok.DecodeSpecial(got); s != "<s>hello</s>" {
		t.Errorf("DecodeSpecial = %q", s)
	}
	if s := tok.Decode(got); s != "hello" {
		t.Errorf("Decode = %q, want control tokens dropped", s)
	}
}

func TestSPMSpecialTokens(t *testing.T) {
	v := spmVocab()
	tok := load(t, "spm.gguf", v)
	hello := ids(t, tok, "▁hello")[0]
	if got := tok.Encode("hello", true); !equalInts(got, []int{1, hello}) {
		t.Errorf("Encode with BOS = %v", got)
	}
	if got := tok.Encode("", true); !equalInts(got, []int{1}) {
		t.Errorf("Encode(\"\", true) = %v, want [BOS] as llama.cpp", got)
	}
	if got := tok.Encode("", false); len(got) != 0 {
		t.Errorf("Encode(\"\", false) = %v", got)
	}
	v.AddBOS, v.AddEOS = false, true
	tok2 := load(t, "spm2.gguf", v)
	if got := tok2.Encode("hello", true); !equalInts(got, []int{hello, 2}) {
		t.Errorf("Encode with add_eos only = %v", got)
	}
	if !tok.IsEOG(2) || tok.IsEOG(1) || tok.IsEOG(hello) {
		t.Error("IsEOG wrong")
	}
	if tok.BOS() != 1 || tok.EOS() != 2 || tok.Unknown() != 0 || tok.Padding() != -1 {
		t.Errorf("special ids %d %d %d %d", tok.BOS(), tok.EOS(), tok.Unknown(), tok.Padding())
	}
	if tok.TokenString(1) != "<s>" || tok.TokenType(1) != TypeControl || tok.TokenType(3) != TypeByte || tok.TokenString(-1) != "" {
		t.Error("TokenString/TokenType wrong")
	}
	v.AddSpacePrefix = false
	tok3 := load(t, "spm3.gguf", v)
	if got := tok3.Encode("hello", false); equalInts(got, []int{hello}) {
		t.Errorf("without add_space_prefix, \"hello\" must not become ▁hello")
	}
	if s := tok3.Decode(tok3.Encode(" hello", false)); s != " hello" {
		t.Errorf("round trip without prefix: %q", s)
	}
}

// TestSPMDefaults checks llama.cpp's defaults when the optional keys are
// missing: BOS 1, EOS 2, UNK 0, add BOS, add the dummy prefix.
func TestSPMDefaults(t *testing.T) {
	v := spmVocab()
	f := writeFile(t, "min.gguf", []gguf.KV{
		{Key: KeyModel, Value: gguf.String("llama")},
		{Key: KeyTokens, Value: gguf.Array(v.Tokens)},
		{Key: KeyScores, Value: gguf.Array(v.Scores)},
		{Key: KeyTokenType, Value: gguf.Array(typesI32(v.Types))},
	})
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tok.BOS() != 1 || tok.EOS() != 2 || tok.Unknown() != 0 || !tok.AddBOS() || tok.AddEOS() || !tok.AddSpacePrefix() {
		t.Errorf("defaults: bos %d eos %d unk %d addBOS %v addEOS %v prefix %v", tok.BOS(), tok.EOS(), tok.Unknown(), tok.AddBOS(), tok.AddEOS(), tok.AddSpacePrefix())
	}
}

func typesI32(ts []TokenType) []int32 {
	out := make([]int32, len(ts))
	for i, x := range ts {
		out[i] = int32(x)
	}
	return out
}

func TestBPEKnownAnswers(t *testing.T) {
	for _, c := range []struct {
		pre, text string
		want      []string
	}{
		// l l (0), h e (1), he ll (4), hell o (5).
		{"gpt-2", "hello", []string{"hello"}},
		{"gpt-2", "hello world", []string{"hello", "Ġworld"}},
		// One pre-token: both halves merge independently, leftmost first.
		{"gpt-2", "hellohello", []string{"hello", "hello"}},
		// No merge reaches "xyz": gpt-2 keeps the bytes, llama3 takes the
		// whole pre-token because it is a token (ignore_merges).
		{"gpt-2", "xyz", []string{"x", "y", "z"}},
		{"llama-bpe", "xyz", []string{"xyz"}},
		// Digits: gpt-2 keeps "12345" whole so "3 4" merges; llama3 splits
		// 123|45 and qwen2/smollm split every digit, so it cannot.
		{"gpt-2", "12345", []string{"1", "2", "34", "5"}},
		{"llama-bpe", "12345", []string{"1", "2", "3", "4", "5"}},
		{"qwen2", "12345", []string{"1", "2", "3", "4", "5"}},
		{"smollm", "12345", []string{"1", "2", "3", "4", "5"}},
		{"default", "12345", []string{"1", "2", "3", "4", "5"}},
		{"default", "1345", []string{"1", "34", "5"}},
		// Bytes outside ASCII map to byte-level characters: é = C3 A9 = "Ã©".
		{"llama-bpe", "é", []string{"Ã", "©"}},
		// Control text is text unless parsed as special.
		{"llama-bpe", "<|eot_id|>", []string{"<", "|", "e", "o", "t", "_", "i", "d", "|", ">"}},
	} {
		tok := load(t, c.pre+".gguf", bpeVocab(c.pre))
		got := tok.Encode(c.text, false)
		want := ids(t, tok, c.want...)
		if !equalInts(got, want) {
			t.Errorf("%s: Encode(%q) = %s, want %s", c.pre, c.text, show(tok, got), show(tok, want))
		}
	}
	tok := load(t, "llama3.gguf", bpeVocab("llama-bpe"))
	eot := ids(t, tok, "<|eot_id|>")[0]
	got := tok.EncodeSpecial("hello<|eot_id|>", true)
	want := []int{tok.BOS(), ids(t, tok, "hello")[0], eot}
	if !equalInts(got, want) {
		t.Errorf("EncodeSpecial = %s, want %s", show(tok, got), show(tok, want))
	}
	if !tok.IsEOG(eot) || !tok.IsEOG(tok.EOS()) {
		t.Error("<|eot_id|> and EOS must end generation")
	}
	if !tok.AddBOS() {
		t.Error("llama-bpe adds BOS by default")
	}
	if load(t, "gpt2.gguf", bpeVocab("gpt-2")).AddBOS() {
		t.Error("gpt-2 adds no BOS")
	}
}

func TestPreTokenizers(t *testing.T) {
	cases := []struct {
		pre  string
		text string
		want []string
	}{
		{"llama-bpe", "Hello world", []string{"Hello", " world"}},
		{"llama-bpe", "I'm here", []string{"I", "'m", " here"}},
		{"llama-bpe", "DON'T", []string{"DON", "'T"}},
		{"llama-bpe", "12345 678", []string{"123", "45", " ", "678"}},
		{"llama-bpe", "a  b", []string{"a", " ", " b"}},
		{"llama-bpe", "a\n\nb", []string{"a", "\n\n", "b"}},
		{"llama-bpe", "a \n b", []string{"a", " \n", " b"}},
		{"llama-bpe", "x!!!\n\ny", []string{"x", "!!!\n\n", "y"}},
		{"llama-bpe", "x !?", []string{"x", " !?"}},
		{"llama-bpe", "end  ", []string{"end", "  "}},
		{"llama-bpe", "\tHello", []string{"\tHello"}},
		{"llama-bpe", "über 東京 ٣٤٥٦", []string{"über", " 東京", " ", "٣٤٥", "٦"}},
		{"llama-bpe", "a\u00a0b", []string{"a", "\u00a0b"}},
		{"llama-bpe", "hi 👋🏽!", []string{"hi", " 👋🏽!"}},
		{"llama-bpe", "e\u0301x", []string{"e", "\u0301x"}},
		{"llama-bpe", "$100", []string{"$", "100"}},
		{"qwen2", "12345", []string{"1", "2", "3", "4", "5"}},
		{"qwen2", "I'M ok", []string{"I", "'M", " ok"}},
		{"qwen2", "a  \tb", []string{"a", "  ", "\tb"}},
		{"gpt-2", "Hello world", []string{"Hello", " world"}},
		{"gpt-2", "I'M", []string{"I", "'", "M"}},
		{"gpt-2", "I'm", []string{"I", "'m"}},
		{"gpt-2", "a  b", []string{"a", " ", " b"}},
		{"gpt-2", "a\n\nb", []string{"a", "\n", "\n", "b"}},
		{"gpt-2", "\tHello", []string{"\t", "Hello"}},
		{"gpt-2", " 42x", []string{" 42", "x"}},
		{"gpt-2", "x !?", []string{"x", " !?"}},
		{"smollm", "abc 123", []string{"abc", " ", "1", "2", "3"}},
		{"default", "Hello, world!!", []string{"Hello", ",", " world", "!!"}},
		{"default", "a 12345", []string{"a", " ", "123", "45"}},
		{"default", "x+=1", []string{"x", "+=", "1"}},
	}
	for _, c := range cases {
		stages, _, err := preTokenizer(c.pre)
		if err != nil {
			t.Fatal(err)
		}
		got := preSplit(stages, c.text)
		if strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("%s: split(%q) = %q, want %q", c.pre, c.text, got, c.want)
		}
		if strings.Join(got, "") != c.text {
			t.Errorf("%s: pieces of %q do not cover it", c.pre, c.text)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	toks := map[string]*Tokenizer{"spm": load(t, "spm.gguf", spmVocab())}
	for _, pre := range []string{"llama-bpe", "qwen2", "smollm", "gpt-2", "default"} {
		toks[pre] = load(t, pre+".gguf", bpeVocab(pre))
	}
	synth, err := ByteLevelSPM(2000)
	if err != nil {
		t.Fatal(err)
	}
	toks["synthetic"] = load(t, "synth.gguf", synth)
	for name, tok := range toks {
		for _, s := range roundTripTexts {
			for _, special := range []bool{false, true} {
				x := tok.Encode(s, special)
				if got := tok.Decode(x); got != s {
					t.Errorf("%s: Decode(Encode(%q, %v)) = %q via %s", name, s, special, got, show(tok, x))
				}
				for _, id := range x {
					if id < 0 || id >= tok.VocabSize() {
						t.Fatalf("%s: id %d out of range", name, id)
					}
				}
			}
		}
	}
	// SentencePiece falls back to bytes, so even invalid UTF-8 survives.
	bad := "ok\xff\xfe\xc3(\xe2\x82"
	if got := toks["spm"].Decode(toks["spm"].Encode(bad, true)); got != bad {
		t.Errorf("spm invalid UTF-8: %q", got)
	}
}

func TestByteLevelSPM(t *testing.T) {
	if _, err := ByteLevelSPM(258); err == nil || !strings.Contains(err.Error(), "259") {
		t.Errorf("ByteLevelSPM(258) error = %v", err)
	}
	for _, size := range []int{259, 260, 400, 32000} {
		v, err := ByteLevelSPM(size)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Tokens) != size {
			t.Fatalf("size %d: %d tokens", size, len(v.Tokens))
		}
		tok, err := New("synthetic", v)
		if err != nil {
			t.Fatal(err)
		}
		if tok.TokenString(0) != "<unk>" || tok.TokenString(1) != "<s>" || tok.TokenString(2) != "</s>" || tok.TokenString(3+0x41) != "<0x41>" {
			t.Errorf("size %d: layout wrong", size)
		}
		x := tok.Encode("hi", true)
		if x[0] != SyntheticBOS {
			t.Errorf("size %d: no BOS", size)
		}
		if size == 259 {
			// No "▁" piece: the escaped space falls back to its 3 bytes.
			if want := []int{1, 3 + 0xE2, 3 + 0x96, 3 + 0x81, 3 + 'h', 3 + 'i'}; !equalInts(x, want) {
				t.Errorf("size 259: %v, want %v", x, want)
			}
		}
	}
	v, _ := ByteLevelSPM(32000)
	tok, _ := New("synthetic", v)
	// Worked by hand from the piece order (score = -index among normal
	// pieces: "▁"=0, ASCII 1..94, "▁a".. 95.., "aa".. 121.., "▁aa".. 797..,
	// "aaa".. 1473.., "▁aaa".. 19049..): ▁h(102) merges first, then el(236);
	// ll(418) is stale, lo(421) merges, "ello" is no piece, ▁he and ell are
	// stale, ▁hel(23896) merges, and "▁hello" is no piece.
	if got, want := tok.Encode("hello", false), ids(t, tok, "▁hel", "lo"); !equalInts(got, want) {
		t.Errorf("synthetic Encode(hello) = %s, want %s", show(tok, got), show(tok, want))
	}
}

func TestAddToGGUF(t *testing.T) {
	v, err := ByteLevelSPM(300)
	if err != nil {
		t.Fatal(err)
	}
	f := writeFileWith(t, func(w *gguf.Writer) {
		w.SetKV(KeyModel, gguf.String("none"))
		if err := AddToGGUF(w, v); err != nil {
			t.Fatal(err)
		}
	})
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 300 || tok.Model() != ModelSPM {
		t.Errorf("read back %d tokens, model %q", tok.VocabSize(), tok.Model())
	}
	bad := &Vocab{Model: ModelSPM, Tokens: []string{"a", "a"}, BOS: -1, EOS: -1, Unknown: -1, Padding: -1}
	if err := AddToGGUF(nil, bad); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("AddToGGUF(duplicate tokens) = %v", err)
	}
	for _, pre := range []string{"", "qwen2"} {
		kv, err := SyntheticKV(400, pre)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := FromGGUF(writeFile(t, "synth.gguf", kv))
		if err != nil || tok.VocabSize() != 400 || tok.Pre() != pre {
			t.Errorf("SyntheticKV(400, %q): %v", pre, err)
		}
	}
	kv := ReplaceKV([]gguf.KV{{Key: "a", Value: gguf.Uint32(1)}, {Key: KeyModel, Value: gguf.String("none")}}, []gguf.KV{{Key: KeyModel, Value: gguf.String("llama")}})
	if len(kv) != 2 || kv[0].Key != "a" || kv[1].Key != KeyModel {
		t.Errorf("ReplaceKV = %v", kv)
	}
}

func writeFileWith(t *testing.T, fn func(w *gguf.Writer)) *gguf.File {
	t.Helper()
	path := t.TempDir() + "/x.gguf"
	w, err := gguf.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	fn(w)
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

func TestMalformed(t *testing.T) {
	good := spmVocab()
	base := func() map[string]gguf.Value {
		return map[string]gguf.Value{
			KeyModel:     gguf.String("llama"),
			KeyTokens:    gguf.Array(good.Tokens),
			KeyScores:    gguf.Array(good.Scores),
			KeyTokenType: gguf.Array(typesI32(good.Types)),
		}
	}
	bpe := bpeVocab("llama-bpe")
	bpeBase := func() map[string]gguf.Value {
		return map[string]gguf.Value{
			KeyModel:  gguf.String("gpt2"),
			KeyPre:    gguf.String("llama-bpe"),
			KeyTokens: gguf.Array(bpe.Tokens),
			KeyMerges: gguf.Array(bpe.Merges),
			KeyBOS:    gguf.Uint32(uint32(bpe.BOS)),
		}
	}
	cases := []struct {
		name string
		kv   map[string]gguf.Value
		want []string // substrings of the error
	}{
		{"none", map[string]gguf.Value{KeyModel: gguf.String("none")}, []string{`"none"`, "no tokenizer"}},
		{"missing model", map[string]gguf.Value{}, []string{KeyModel, "no tokenizer"}},
		{"unknown model", map[string]gguf.Value{KeyModel: gguf.String("t5")}, []string{KeyModel, `"t5"`, "not supported"}},
		{"missing tokens", map[string]gguf.Value{KeyModel: gguf.String("llama")}, []string{KeyTokens, "missing"}},
		{"scores length", with(base(), KeyScores, gguf.Array(good.Scores[:10])), []string{KeyScores, "10 entries"}},
		{"types length", with(base(), KeyTokenType, gguf.Array([]int32{1, 1})), []string{KeyTokenType, "2 entries"}},
		{"scores type", with(base(), KeyScores, gguf.String("x")), []string{KeyScores, "want array[float32]"}},
		{"bad type value", with(base(), KeyTokenType, gguf.Array(append(typesI32(good.Types[:len(good.Types)-1]), 9))), []string{KeyTokenType, "type 9"}},
		{"bos out of range", with(base(), KeyBOS, gguf.Uint32(99999)), []string{KeyBOS, "99999", "out of range"}},
		{"eos out of range", with(base(), KeyEOS, gguf.Uint32(uint32(len(good.Tokens)))), []string{KeyEOS, "out of range"}},
		{"negative unk", with(base(), KeyUnknown, gguf.Int32(-5)), []string{KeyUnknown, "negative"}},
		{"eot out of range", with(base(), KeyEOT, gguf.Uint32(1<<20)), []string{KeyEOT, "out of range"}},
		{"add_bos not bool", with(base(), KeyAddBOS, gguf.Uint32(1)), []string{KeyAddBOS, "want bool"}},
		{"duplicate token", with(base(), KeyTokens, gguf.Array(append(append([]string{}, good.Tokens[:len(good.Tokens)-1]...), "ll"))), []string{KeyTokens, "duplicate", `"ll"`}},
		{"bad byte token", with(base(), KeyTokens, gguf.Array(append([]string{"<unk>", "<s>", "</s>", "<0xZZ>"}, good.Tokens[4:]...))), []string{KeyTokenType, "<0xZZ>"}},
		{"add_bos without bos", with(with(bpeBase(), KeyBOS, gguf.Value{}), KeyAddBOS, gguf.Bool(true)), []string{KeyAddBOS, KeyBOS}},
		{"missing merges", with(bpeBase(), KeyMerges, gguf.Value{}), []string{KeyMerges, "missing"}},
		{"merge unknown token", with(bpeBase(), KeyMerges, gguf.Array([]string{"l l", "he zz"})), []string{KeyMerges, "merge 1", `"zz"`, "not in the vocabulary"}},
		{"merge no space", with(bpeBase(), KeyMerges, gguf.Array([]string{"ll"})), []string{KeyMerges, "merge 0"}},
		{"unknown pre", with(bpeBase(), KeyPre, gguf.String("klingon")), []string{KeyPre, `"klingon"`, "qwen2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var kv []gguf.KV
			for k, v := range c.kv {
				if v.Valid() {
					kv = append(kv, gguf.KV{Key: k, Value: v})
				}
			}
			f := writeFile(t, "bad.gguf", kv)
			_, err := FromGGUF(f)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range append(c.want, f.Path) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

func with(m map[string]gguf.Value, k string, v gguf.Value) map[string]gguf.Value {
	m[k] = v
	return m
}

func TestStream(t *testing.T) {
	tok := load(t, "spm.gguf", spmVocab())
	text := "hé 👋 hello"
	x := tok.Encode(text, true)
	s := tok.NewStream(false)
	var b strings.Builder
	for _, id := range x {
		out := s.Add(id)
		if !utf8.ValidString(out) {
			t.Errorf("stream emitted a partial character %q", out)
		}
		b.WriteString(out)
	}
	b.WriteString(s.Flush())
	// The stream keeps the dummy-prefix space (it continues printed text).
	if got := b.String(); got != " "+text {
		t.Errorf("stream = %q", got)
	}
	// A lone lead byte followed by ASCII is passed through, not held.
	s = tok.NewStream(false)
	if out := s.Add(3 + 0xC3); out != "" {
		t.Errorf("held lead byte emitted %q", out)
	}
	if out := s.Add(3 + 'a'); out != "\xc3a" {
		t.Errorf("invalid sequence = %q", out)
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range roundTripTexts {
		f.Add(s)
	}
	spm := load(f, "spm.gguf", spmVocab())
	llama3 := load(f, "llama3.gguf", bpeVocab("llama-bpe"))
	qwen := load(f, "qwen2.gguf", bpeVocab("qwen2"))
	def := load(f, "default.gguf", bpeVocab("default"))
	inRange := func(t *testing.T, tok *Tokenizer, x []int) {
		for _, id := range x {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("id %d out of range", id)
			}
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Invalid UTF-8 is tokenized as llama.cpp does, which is not always
		// reversible: SentencePiece groups a truncated sequence with the
		// next bytes (possibly half a "▁"), byte-level BPE turns invalid
		// bytes into U+FFFD. Those inputs are only checked for sane ids.
		valid := utf8.ValidString(s)
		for _, tok := range []*Tokenizer{spm, llama3, qwen, def} {
			x := tok.Encode(s, true)
			inRange(t, tok, x)
			inRange(t, tok, tok.EncodeSpecial(s, true))
			if !valid || (tok == spm && strings.Contains(s, spaceMarker)) {
				continue // "▁" in the input decodes as a space, by design
			}
			if got := tok.Decode(x); got != s {
				t.Errorf("%s%s: %q -> %q", tok.Model(), tok.Pre(), s, got)
			}
		}
	})
}

// TestTextFixups checks llama.cpp's by-text attribute fix-ups: "</s>" and
// "<|im_end|>" typed normal in the file still become control tokens that end
// generation, FIM markers become control, gpt-oss's "<|message|>" becomes
// user-defined.
func TestTextFixups(t *testing.T) {
	v := bpeVocab("qwen2")
	for _, s := range []string{"</s>", "<|im_end|>", "<|fim_prefix|>", "<|message|>", "<|fim_pad|>"} {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, TypeNormal)
	}
	tok := load(t, "fixups.gguf", v)
	id := func(s string) int { return ids(t, tok, s)[0] }
	if got := tok.EncodeSpecial("a</s>b", false); !equalInts(got, []int{'a', id("</s>"), 'b'}) {
		t.Errorf("EncodeSpecial with </s> = %s", show(tok, got))
	}
	if got := tok.Encode("a</s>b", false); len(got) != 6 {
		t.Errorf("Encode without parse_special must not match </s>: %s", show(tok, got))
	}
	if got := tok.Encode("a<|message|>b", false); !equalInts(got, []int{'a', id("<|message|>"), 'b'}) {
		t.Errorf("user-defined <|message|> = %s", show(tok, got))
	}
	for _, s := range []string{"</s>", "<|im_end|>", "<|fim_pad|>", "<|end_of_text|>", "<|eot_id|>"} {
		if !tok.IsEOG(id(s)) {
			t.Errorf("%s must end generation", s)
		}
	}
	if tok.IsEOG(id("<|fim_prefix|>")) || tok.IsEOG(id("<|message|>")) {
		t.Error("FIM prefix and <|message|> must not end generation")
	}
	if tok.Piece(id("</s>"), false) != "" || tok.Piece(id("</s>"), true) != "</s>" || tok.Piece(id("<|fim_prefix|>"), false) != "" {
		t.Error("control-by-text tokens must render only as specials")
	}
	if tok.Piece(id("<|message|>"), false) != "<|message|>" {
		t.Error("user-defined tokens render as their text")
	}
}

// TestExtraIDs: an EOT id from the file ends generation; FIM ids from the
// file are not forced to control (only auto-detected ones are).
func TestExtraIDs(t *testing.T) {
	v := bpeVocab("llama-bpe")
	kv, err := v.KV()
	if err != nil {
		t.Fatal(err)
	}
	tok0 := load(t, "plain.gguf", v)
	xyz := ids(t, tok0, "xyz")[0]
	kv = append(kv, gguf.KV{Key: KeyEOT, Value: gguf.Uint32(uint32(xyz))}, gguf.KV{Key: KeyFIMPad, Value: gguf.Uint32(uint32(xyz - 1))})
	tok, err := FromGGUF(writeFile(t, "eot.gguf", kv))
	if err != nil {
		t.Fatal(err)
	}
	if !tok.IsEOG(xyz) || !tok.IsEOG(xyz-1) || tok0.IsEOG(xyz) {
		t.Error("EOT/FIM pad ids from the file must end generation")
	}
	if got := tok.Encode("xyz", false); !equalInts(got, []int{xyz}) {
		t.Errorf("xyz stays a normal token: %s", show(tok, got))
	}
}

func TestByteLevelBPE(t *testing.T) {
	if _, err := ByteLevelBPE(258, "llama-bpe"); err == nil || !strings.Contains(err.Error(), "259") {
		t.Errorf("ByteLevelBPE(258) error = %v", err)
	}
	if _, err := ByteLevelBPE(1000, "klingon"); err == nil {
		t.Error("unknown pre-tokenizer accepted")
	}
	for _, pre := range []string{"llama-bpe", "qwen2", "smollm", "gpt-2", "default"} {
		for _, size := range []int{259, 300, 2000} {
			v, err := ByteLevelBPE(size, pre)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.Tokens) != size {
				t.Fatalf("%s %d: %d tokens", pre, size, len(v.Tokens))
			}
			tok := load(t, "bpe.gguf", v)
			for _, s := range roundTripTexts {
				if got := tok.Decode(tok.Encode(s, true)); got != s {
					t.Errorf("%s %d: round trip %q -> %q", pre, size, s, got)
				}
			}
			if !tok.IsEOG(tok.EOS()) || tok.TokenType(size-1) != TypeControl || tok.TokenString('a') != "a" {
				t.Errorf("%s %d: layout wrong", pre, size)
			}
		}
	}
	// Worked by hand from the merge ranks ("Ġa".."Ġz" 0-25, "aa".."zz"
	// 26-701, "Ġaa".. 702-1377, "aaa".. 1378-): "hello" merges el(141),
	// then lo(326), and "h el", "el lo" are no merges; "Ġworld" merges
	// Ġw(22), ld(315), or(407), and "Ġwo o" is stale.
	v, _ := ByteLevelBPE(32000, "llama-bpe")
	tok := load(t, "bpe32k.gguf", v)
	if got, want := tok.Encode("hello world", true), append([]int{tok.BOS()}, ids(t, tok, "h", "el", "lo", "Ġw", "or", "ld")...); !equalInts(got, want) {
		t.Errorf("Encode(hello world) = %s, want %s", show(tok, got), show(tok, want))
	}
	// Words in the vocabulary come out whole (ignore_merges for llama3).
	if got, want := tok.Encode(" and cat", false), ids(t, tok, "Ġand", "Ġcat"); !equalInts(got, want) {
		t.Errorf("Encode( and cat) = %s, want %s", show(tok, got), show(tok, want))
	}
}
