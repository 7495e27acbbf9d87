package tokenizer

// attr is llama.cpp's per-token attribute bit set (llama_token_attr). A
// token starts with the attribute of its file type, and llama.cpp then
// adjusts some by their text (see setAttrs); the attributes, not the file
// types, decide how tokens are matched and rendered.
type attr uint8

const (
	attrUnknown attr = 1 << iota
	attrUnused
	attrNormal
	attrControl
	attrUserDefined
	attrByte
)

func typeAttr(t TokenType) attr {
	switch t {
	case TypeNormal:
		return attrNormal
	case TypeUnknown:
		return attrUnknown
	case TypeControl:
		return attrControl
	case TypeUserDefined:
		return attrUserDefined
	case TypeUnused:
		return attrUnused
	case TypeByte:
		return attrByte
	}
	return 0
}

// Optional special-token ids llama.cpp reads besides BOS/EOS/UNK/PAD. When
// one is absent llama.cpp looks for its usual texts instead.
const (
	keyPrefixDeprecated = "tokenizer.ggml.prefix_token_id"
	keySuffixDeprecated = "tokenizer.ggml.suffix_token_id"
	keyMiddleDeprecated = "tokenizer.ggml.middle_token_id"
)

var extraIDKeys = []string{KeyEOT, KeyEOM, KeyFIMPre, KeyFIMSuf, KeyFIMMid, KeyFIMPad, KeyFIMRep, KeyFIMSep,
	keyPrefixDeprecated, keySuffixDeprecated, keyMiddleDeprecated}

// autoDetect lists, per optional id, the texts llama.cpp recognises when
// the id is not in the file (llama_vocab::impl::load). A token found this
// way is made a control token.
var autoDetect = []struct {
	keys  []string
	texts []string
}{
	{[]string{KeyEOT}, []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}},
	{[]string{KeyEOM}, []string{"<|eom_id|>"}},
	{[]string{KeyFIMPre, keyPrefixDeprecated}, []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}},
	{[]string{KeyFIMSuf, keySuffixDeprecated}, []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}},
	{[]string{KeyFIMMid, keyMiddleDeprecated}, []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}},
	{[]string{KeyFIMPad}, []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}},
	{[]string{KeyFIMRep}, []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}},
	{[]string{KeyFIMSep}, []string{"<|file_sep|>"}},
}

// eogTexts are the texts llama.cpp treats as end of generation (and makes
// control tokens) whatever their file type.
var eogTexts = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
	"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
	"<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["}

// setAttrs derives the attributes and the end-of-generation set the way
// llama.cpp's vocabulary loader does, including its fix-ups by token text:
// well-known chat/FIM/end markers become control tokens even when a
// converter typed them normal (Qwen's "</s>", for one), a few gpt-oss
// markers become user-defined, and "<|end|>" or "</s>" leave the EOG set in
// the vocabularies where they are not ends.
func (t *Tokenizer) setAttrs(v *Vocab) {
	for i, ty := range t.types {
		t.attrs[i] = typeAttr(ty)
	}
	// Ids from the file, else auto-detected by text (the lowest id when
	// several texts of one list are present; llama.cpp takes whichever its
	// hash map yields first).
	ids := map[string]int{}
	for _, d := range autoDetect {
		id, found := -1, false
		for _, k := range d.keys {
			if x, ok := v.extra[k]; ok {
				id, found = x, true
			}
		}
		if !found {
			for _, s := range d.texts {
				if x, ok := t.index[s]; ok && (id < 0 || x < id) {
					id = x
				}
			}
			if id >= 0 {
				t.attrs[id] |= attrControl
			}
		}
		if id >= 0 {
			ids[d.keys[0]] = id
		}
	}
	t.eog = map[int]bool{}
	for _, k := range []string{KeyFIMPad, KeyFIMRep, KeyFIMSep} {
		if id, ok := ids[k]; ok {
			t.eog[id] = true
		}
	}
	for _, s := range eogTexts {
		if id, ok := t.index[s]; ok {
			t.eog[id] = true
			t.attrs[id] |= attrControl
		}
	}
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.index[s]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	if t.eos >= 0 {
		t.eog[t.eos] = true
	}
	for _, k := range []string{KeyEOT, KeyEOM} {
		if id, ok := ids[k]; ok {
			t.eog[id] = true
		}
	}
	has := func(s string) (int, bool) {
		id, ok := t.index[s]
		return id, ok && t.eog[id]
	}
	_, ret := has("<|return|>")
	_, call := has("<|call|>")
	_, calls := has("<|calls|>")
	call = call || calls
	_, flush := has("<|flush|>")
	if end, ok := has("<|end|>"); ok && ((ret && call) || (call && flush)) {
		delete(t.eog, end)
		t.attrs[end] = attrUserDefined
	}
	if s, ok := has("</s>"); ok {
		if _, tr := has("<|tool_response>"); tr {
			delete(t.eog, s)
			t.attrs[s] = attrNormal
		}
	}
}
