package tokenizer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/edgebench/edgebench/model/gguf"
)

// TokenType is llama.cpp's per-token type (tokenizer.ggml.token_type).
type TokenType int32

// Token types, numbered as in llama.cpp's llama_token_type and the GGUF spec.
const (
	TypeUndefined   TokenType = 0
	TypeNormal      TokenType = 1
	TypeUnknown     TokenType = 2
	TypeControl     TokenType = 3
	TypeUserDefined TokenType = 4
	TypeUnused      TokenType = 5
	TypeByte        TokenType = 6
)

var typeNames = [...]string{"undefined", "normal", "unknown", "control", "user-defined", "unused", "byte"}

func (t TokenType) String() string {
	if t >= 0 && int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("TokenType(%d)", int32(t))
}

// Metadata keys, as llama.cpp spells them.
const (
	KeyModel          = "tokenizer.ggml.model"
	KeyPre            = "tokenizer.ggml.pre"
	KeyTokens         = "tokenizer.ggml.tokens"
	KeyScores         = "tokenizer.ggml.scores"
	KeyTokenType      = "tokenizer.ggml.token_type"
	KeyMerges         = "tokenizer.ggml.merges"
	KeyBOS            = "tokenizer.ggml.bos_token_id"
	KeyEOS            = "tokenizer.ggml.eos_token_id"
	KeyUnknown        = "tokenizer.ggml.unknown_token_id"
	KeyPadding        = "tokenizer.ggml.padding_token_id"
	KeyEOT            = "tokenizer.ggml.eot_token_id"
	KeyEOM            = "tokenizer.ggml.eom_token_id"
	KeyFIMPre         = "tokenizer.ggml.fim_pre_token_id"
	KeyFIMSuf         = "tokenizer.ggml.fim_suf_token_id"
	KeyFIMMid         = "tokenizer.ggml.fim_mid_token_id"
	KeyFIMPad         = "tokenizer.ggml.fim_pad_token_id"
	KeyFIMRep         = "tokenizer.ggml.fim_rep_token_id"
	KeyFIMSep         = "tokenizer.ggml.fim_sep_token_id"
	KeyAddBOS         = "tokenizer.ggml.add_bos_token"
	KeyAddEOS         = "tokenizer.ggml.add_eos_token"
	KeyAddSpacePrefix = "tokenizer.ggml.add_space_prefix"
)

// Model names in tokenizer.ggml.model.
const (
	ModelSPM = "llama" // SentencePiece BPE with scores and <0xXX> byte fallback
	ModelBPE = "gpt2"  // byte-level BPE with ranked merges
)

// Tokenizer converts between text and token ids the way llama.cpp does for
// the vocabulary stored in a GGUF file. It is immutable after construction
// and safe for concurrent use.
type Tokenizer struct {
	name    string // file path, for messages
	model   string // ModelSPM or ModelBPE
	pre     string // pre-tokenizer name as read ("" for SPM)
	tokens  []string
	scores  []float32
	types   []TokenType // as stored in the file
	attrs   []attr      // llama.cpp's attributes after its by-text fix-ups
	index   map[string]int
	pieces  []string // text each token contributes when decoding (specials: "")
	byteVal []int16  // byte value of TypeByte tokens, else -1

	merges       map[pair]int // BPE: (left, right) -> rank
	splitter     []stage      // BPE pre-tokenizer stages
	ignoreMerges bool         // BPE: a whole pre-token found in the vocab is emitted as is

	bos, eos, unk, pad int // -1 = none
	eog                map[int]bool
	addBOS, addEOS     bool
	addSpacePrefix     bool
	specials           []int    // control/user-defined/unknown ids, longest text first
	byteTok            [256]int // token for each raw byte (SPM <0xXX>, BPE byte-level char); -1 = none
}

type pair struct{ left, right string }

// FromGGUF reads the tokenizer that llama.cpp would build from f's
// tokenizer.ggml.* metadata. Files whose tokenizer.ggml.model is "none" (or
// missing), such as edgebench's synthetic models without a vocabulary, get an
// error saying so.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	r := reader{f: f}
	v := &Vocab{BOS: -1, EOS: -1, Unknown: -1, Padding: -1}
	mv, ok := f.Get(KeyModel)
	if !ok {
		return nil, fmt.Errorf("tokenizer: %s: no %s key: the file carries no tokenizer (token ids only)", f.Path, KeyModel)
	}
	model, ok := mv.Text()
	if !ok {
		return nil, r.errf(KeyModel, "is %s, want string", mv.TypeName())
	}
	switch model {
	case "none", "no_vocab":
		return nil, fmt.Errorf("tokenizer: %s: %s is %q: the file carries no tokenizer (token ids only)", f.Path, KeyModel, model)
	case ModelSPM, ModelBPE:
	default:
		return nil, r.errf(KeyModel, "tokenizer %q is not supported (supported: %q SentencePiece, %q byte-level BPE)", model, ModelSPM, ModelBPE)
	}
	v.Model = model
	var err error
	if v.Tokens, err = r.strings(KeyTokens, true); err != nil {
		return nil, err
	}
	if v.Scores, err = r.floats(KeyScores); err != nil {
		return nil, err
	}
	if v.Types, err = r.types(KeyTokenType); err != nil {
		return nil, err
	}
	if model == ModelBPE {
		if v.Merges, err = r.strings(KeyMerges, true); err != nil {
			return nil, err
		}
		if v.Pre, err = r.optString(KeyPre); err != nil {
			return nil, err
		}
	}
	// readID reads an optional token id; ok is false when the key is absent.
	readID := func(key string) (id int, ok bool, err error) {
		if _, present := f.Get(key); !present {
			return -1, false, nil
		}
		u, err := f.Uint32(key)
		if err != nil {
			return -1, false, fmt.Errorf("tokenizer: %w", err)
		}
		if int64(u) >= int64(len(v.Tokens)) {
			return -1, false, r.errf(key, "token id %d is out of range (vocabulary has %d tokens)", u, len(v.Tokens))
		}
		return int(u), true, nil
	}
	set := map[string]bool{}
	for _, id := range []struct {
		key string
		dst *int
	}{{KeyBOS, &v.BOS}, {KeyEOS, &v.EOS}, {KeyUnknown, &v.Unknown}, {KeyPadding, &v.Padding}} {
		x, ok, err := readID(id.key)
		if err != nil {
			return nil, err
		}
		if ok {
			*id.dst, set[id.key] = x, true
		}
	}
	v.extra = map[string]int{}
	for _, key := range extraIDKeys {
		x, ok, err := readID(key)
		if err != nil {
			return nil, err
		}
		if ok {
			v.extra[key] = x
		}
	}
	// llama.cpp's defaults when the keys are absent.
	if model == ModelSPM {
		def := func(key string, dst *int, id int) {
			if !set[key] && id < len(v.Tokens) {
				*dst = id
			}
		}
		def(KeyBOS, &v.BOS, 1)
		def(KeyEOS, &v.EOS, 2)
		def(KeyUnknown, &v.Unknown, 0)
		v.AddBOS, v.AddSpacePrefix = true, true
	} else if preLlama3[v.Pre] {
		v.AddBOS = true
	}
	for _, b := range []struct {
		key string
		dst *bool
	}{{KeyAddBOS, &v.AddBOS}, {KeyAddEOS, &v.AddEOS}, {KeyAddSpacePrefix, &v.AddSpacePrefix}} {
		if _, ok := f.Get(b.key); !ok {
			continue
		}
		x, err := f.Bool(b.key)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		*b.dst = x
	}
	return build(f.Path, v)
}

// reader wraps metadata lookups so every error names the file and key.
type reader struct{ f *gguf.File }

func (r reader) errf(key, format string, args ...any) error {
	return fmt.Errorf("tokenizer: %s: key %q: %s", r.f.Path, key, fmt.Sprintf(format, args...))
}

func (r reader) strings(key string, required bool) ([]string, error) {
	v, ok := r.f.Get(key)
	if !ok {
		if required {
			return nil, r.errf(key, "missing")
		}
		return nil, nil
	}
	s, ok := v.Strings()
	if !ok {
		return nil, r.errf(key, "is %s, want array[string]", v.TypeName())
	}
	return s, nil
}

func (r reader) optString(key string) (string, error) {
	v, ok := r.f.Get(key)
	if !ok {
		return "", nil
	}
	s, ok := v.Text()
	if !ok {
		return "", r.errf(key, "is %s, want string", v.TypeName())
	}
	return s, nil
}

// floats reads scores; llama.cpp accepts float32 or int32 arrays.
func (r reader) floats(key string) ([]float32, error) {
	v, ok := r.f.Get(key)
	if !ok {
		return nil, nil
	}
	if s, ok := v.Float32s(); ok {
		return s, nil
	}
	if s, ok := v.Int32s(); ok {
		out := make([]float32, len(s))
		for i, x := range s {
			out[i] = float32(x)
		}
		return out, nil
	}
	return nil, r.errf(key, "is %s, want array[float32]", v.TypeName())
}

func (r reader) types(key string) ([]TokenType, error) {
	v, ok := r.f.Get(key)
	if !ok {
		return nil, nil
	}
	s, ok := v.Int32s()
	if !ok {
		return nil, r.errf(key, "is %s, want array[int32]", v.TypeName())
	}
	out := make([]TokenType, len(s))
	for i, x := range s {
		out[i] = TokenType(x)
	}
	return out, nil
}

// build validates a vocabulary and derives the lookup tables. name is used
// in errors (a file path, or a description for in-memory vocabularies).
func build(name string, v *Vocab) (*Tokenizer, error) {
	keyErr := func(key, format string, args ...any) error {
		return fmt.Errorf("tokenizer: %s: key %q: %s", name, key, fmt.Sprintf(format, args...))
	}
	n := len(v.Tokens)
	if n == 0 {
		return nil, keyErr(KeyTokens, "empty vocabulary")
	}
	if v.Scores != nil && len(v.Scores) != n {
		return nil, keyErr(KeyScores, "has %d entries but %s has %d", len(v.Scores), KeyTokens, n)
	}
	if v.Types != nil && len(v.Types) != n {
		return nil, keyErr(KeyTokenType, "has %d entries but %s has %d", len(v.Types), KeyTokens, n)
	}
	t := &Tokenizer{
		name: name, model: v.Model, pre: v.Pre,
		tokens: make([]string, n), scores: make([]float32, n), types: make([]TokenType, n), attrs: make([]attr, n),
		index:   make(map[string]int, n),
		pieces:  make([]string, n),
		byteVal: make([]int16, n),
		bos:     v.BOS, eos: v.EOS, unk: v.Unknown, pad: v.Padding,
		addBOS: v.AddBOS, addEOS: v.AddEOS, addSpacePrefix: v.AddSpacePrefix,
		eog: map[int]bool{},
	}
	if v.Model != ModelSPM && v.Model != ModelBPE {
		return nil, keyErr(KeyModel, "tokenizer %q is not supported (supported: %q, %q)", v.Model, ModelSPM, ModelBPE)
	}
	for _, id := range []struct {
		key string
		id  int
	}{{KeyBOS, v.BOS}, {KeyEOS, v.EOS}, {KeyUnknown, v.Unknown}, {KeyPadding, v.Padding}} {
		if id.id < -1 || id.id >= n {
			return nil, keyErr(id.key, "token id %d is out of range (vocabulary has %d tokens)", id.id, n)
		}
	}
	if t.addBOS && t.bos < 0 {
		return nil, keyErr(KeyAddBOS, "is true but %s is not set", KeyBOS)
	}
	if t.addEOS && t.eos < 0 {
		return nil, keyErr(KeyAddEOS, "is true but %s is not set", KeyEOS)
	}
	for i, s := range v.Tokens {
		if s == "" {
			// llama.cpp renames empty tokens the same way so they stay unique.
			s = fmt.Sprintf("[EMPTY_%d]", i)
		}
		if j, dup := t.index[s]; dup {
			return nil, keyErr(KeyTokens, "duplicate token %q at ids %d and %d", s, j, i)
		}
		t.index[s] = i
		t.tokens[i] = s
		if v.Scores != nil {
			t.scores[i] = v.Scores[i]
		}
		t.types[i] = TypeNormal
		if v.Types != nil {
			ty := v.Types[i]
			if ty < TypeUndefined || ty > TypeByte {
				return nil, keyErr(KeyTokenType, "token %d has type %d (valid: 0..6)", i, int32(ty))
			}
			t.types[i] = ty
		}
		t.byteVal[i] = -1
		if t.types[i] == TypeByte {
			b, ok := parseByteToken(s)
			if !ok {
				return nil, keyErr(KeyTokenType, "token %d %q has type byte but is not of the form <0xHH>", i, s)
			}
			t.byteVal[i] = int16(b)
		}
	}
	t.setAttrs(v)
	for i := range t.tokens {
		t.pieces[i] = t.makePiece(i)
	}

	// Specials are matched in the raw text before tokenizing, longest first
	// (llama.cpp's tokenizer_st_partition); ties by id for determinism.
	for i, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.specials = append(t.specials, i)
		}
	}
	sort.SliceStable(t.specials, func(a, b int) bool {
		return len(t.tokens[t.specials[a]]) > len(t.tokens[t.specials[b]])
	})

	for b := range t.byteTok {
		t.byteTok[b] = -1
	}
	switch t.model {
	case ModelSPM:
		for b := range 256 {
			if id, ok := t.index[fmt.Sprintf("<0x%02X>", b)]; ok {
				t.byteTok[b] = id
			} else if id, ok := t.index[string([]byte{byte(b)})]; ok {
				t.byteTok[b] = id
			}
		}
	case ModelBPE:
		for b := range 256 {
			if id, ok := t.index[string(byteToRune[b])]; ok {
				t.byteTok[b] = id
			}
		}
		var err error
		if t.splitter, t.ignoreMerges, err = preTokenizer(v.Pre); err != nil {
			return nil, keyErr(KeyPre, "%v", err)
		}
		t.merges = make(map[pair]int, len(v.Merges))
		for rank, m := range v.Merges {
			sp := -1
			if len(m) > 1 {
				sp = strings.IndexByte(m[1:], ' ')
			}
			if sp < 0 {
				return nil, keyErr(KeyMerges, "merge %d %q is not two tokens separated by a space", rank, m)
			}
			l, r := m[:sp+1], m[sp+2:]
			if _, ok := t.index[l]; !ok {
				return nil, keyErr(KeyMerges, "merge %d %q names %q, which is not in the vocabulary", rank, m, l)
			}
			if _, ok := t.index[r]; !ok {
				return nil, keyErr(KeyMerges, "merge %d %q names %q, which is not in the vocabulary", rank, m, r)
			}
			if _, dup := t.merges[pair{l, r}]; !dup {
				t.merges[pair{l, r}] = rank // llama.cpp keeps the first (emplace)
			}
		}
	}
	return t, nil
}

func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexVal(s[3])
	lo, ok2 := hexVal(s[4])
	return hi<<4 | lo, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// makePiece is the text token i contributes when decoding without
// rendering specials (llama.cpp's token_to_piece with special=false).
func (t *Tokenizer) makePiece(i int) string {
	s, a := t.tokens[i], t.attrs[i]
	switch {
	case a&(attrControl|attrUnknown) != 0:
		return ""
	case a&attrUserDefined != 0:
		return s
	case a&attrNormal != 0:
		if t.model == ModelSPM {
			return strings.ReplaceAll(s, spaceMarker, " ")
		}
		return decodeByteLevel(s)
	case a&attrByte != 0:
		return string([]byte{byte(t.byteVal[i])})
	}
	// unused, undefined: nothing.
	return ""
}

// Model is tokenizer.ggml.model: "llama" (SentencePiece) or "gpt2" (byte-level BPE).
func (t *Tokenizer) Model() string { return t.model }

// Pre is tokenizer.ggml.pre as read ("" when absent).
func (t *Tokenizer) Pre() string { return t.pre }

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS, EOS, Unknown and Padding return special token ids, -1 when absent.
func (t *Tokenizer) BOS() int     { return t.bos }
func (t *Tokenizer) EOS() int     { return t.eos }
func (t *Tokenizer) Unknown() int { return t.unk }
func (t *Tokenizer) Padding() int { return t.pad }

// AddBOS and AddEOS report whether Encode with addSpecial adds them.
func (t *Tokenizer) AddBOS() bool { return t.addBOS }
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// AddSpacePrefix reports whether SentencePiece's dummy prefix space is added.
func (t *Tokenizer) AddSpacePrefix() bool { return t.addSpacePrefix }

// IsEOG reports whether id ends generation (EOS, EOT, EOM and the chat end
// markers llama.cpp recognises by their text).
func (t *Tokenizer) IsEOG(id int) bool { return t.eog[id] }

// TokenString is the vocabulary text of id ("" when id is out of range).
func (t *Tokenizer) TokenString(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// TokenType is the type of id (TypeUndefined when out of range).
func (t *Tokenizer) TokenType(id int) TokenType {
	if id < 0 || id >= len(t.types) {
		return TypeUndefined
	}
	return t.types[id]
}

// Score is the SentencePiece score of id (0 when absent or out of range).
func (t *Tokenizer) Score(id int) float32 {
	if id < 0 || id >= len(t.scores) {
		return 0
	}
	return t.scores[id]
}

// TokenID finds the id whose vocabulary text is exactly s.
func (t *Tokenizer) TokenID(s string) (int, bool) {
	id, ok := t.index[s]
	return id, ok
}

// Piece is the text id contributes to decoded output. Control and unknown
// tokens give "" unless special is true, in which case their vocabulary text
// is returned. Byte tokens give a single byte, which may be part of a
// multi-byte UTF-8 character: join pieces before treating them as text.
func (t *Tokenizer) Piece(id int, special bool) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	if special && t.attrs[id]&(attrControl|attrUnknown) != 0 {
		return t.tokens[id]
	}
	return t.pieces[id]
}

// Encode tokenizes text as llama.cpp's llama_tokenize does with
// parse_special=false: control-token texts such as "<s>" in text are
// tokenized as ordinary text, user-defined tokens are still matched whole.
// With addSpecial, BOS/EOS are added as the vocabulary asks (AddBOS, AddEOS).
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	return t.encode(text, addSpecial, false)
}

// EncodeSpecial is Encode with parse_special=true: control and unknown
// token texts in text (e.g. "<|eot_id|>") become those tokens.
func (t *Tokenizer) EncodeSpecial(text string, addSpecial bool) []int {
	return t.encode(text, addSpecial, true)
}

type fragment struct {
	text string
	id   int // >= 0: a special token; -1: raw text
}

// partition splits text around special tokens, longest first, the way
// llama.cpp's tokenizer_st_partition does.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{text: text, id: -1}}
	if text == "" {
		return nil
	}
	for _, sid := range t.specials {
		if !parseSpecial && t.attrs[sid]&(attrControl|attrUnknown) != 0 {
			continue
		}
		st := t.tokens[sid]
		if !strings.Contains(text, st) {
			continue
		}
		var out []fragment
		for _, f := range frags {
			if f.id >= 0 {
				out = append(out, f)
				continue
			}
			s := f.text
			for {
				k := strings.Index(s, st)
				if k < 0 {
					break
				}
				if k > 0 {
					out = append(out, fragment{text: s[:k], id: -1})
				}
				out = append(out, fragment{id: sid})
				s = s[k+len(st):]
			}
			if s != "" {
				out = append(out, fragment{text: s, id: -1})
			}
		}
		frags = out
	}
	return frags
}

func (t *Tokenizer) encode(text string, addSpecial, parseSpecial bool) []int {
	out := make([]int, 0, len(text)/3+2)
	if addSpecial && t.addBOS {
		out = append(out, t.bos)
	}
	prevSpecial := true // SentencePiece: dummy prefix at the start and after each special
	for _, f := range t.partition(text, parseSpecial) {
		if f.id >= 0 {
			out = append(out, f.id)
			prevSpecial = true
			continue
		}
		if t.model == ModelSPM {
			s := f.text
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			out = t.encodeSPM(strings.ReplaceAll(s, " ", spaceMarker), out)
		} else {
			out = t.encodeBPE(f.text, out)
		}
		prevSpecial = false
	}
	if addSpecial && t.addEOS {
		out = append(out, t.eos)
	}
	return out
}

// Decode turns ids back into text: the concatenation of each token's piece
// (control and unknown tokens contribute nothing), with the SentencePiece
// dummy-prefix space removed from the first text after the start or after a
// special token, so that Decode(Encode(s, addSpecial)) == s. Ids out of
// range contribute nothing. Unlike llama.cpp's llama_detokenize, no
// clean-up of spaces before punctuation is applied.
func (t *Tokenizer) Decode(ids []int) string {
	return t.decode(ids, false)
}

// DecodeSpecial is Decode rendering control and unknown tokens as their text.
func (t *Tokenizer) DecodeSpecial(ids []int) string {
	return t.decode(ids, true)
}

func (t *Tokenizer) decode(ids []int, special bool) string {
	var b strings.Builder
	// Only SentencePiece encoding adds the dummy prefix (llama.cpp reads
	// add_space_prefix for BPE too, but then only strips it when
	// detokenizing).
	prefix := t.addSpacePrefix && t.model == ModelSPM
	strip := prefix
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			continue
		}
		if t.attrs[id]&(attrControl|attrUnknown|attrUserDefined) != 0 {
			b.WriteString(t.Piece(id, special))
			strip = prefix
			continue
		}
		p := t.pieces[id]
		if p == "" {
			continue
		}
		if strip && p[0] == ' ' {
			p = p[1:]
		}
		strip = false
		b.WriteString(p)
	}
	return b.String()
}
