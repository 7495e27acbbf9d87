package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Byte-level BPE (GPT-2) represents every byte as a printable rune so that
// token texts are valid UTF-8: printable Latin-1 bytes map to themselves and
// the other 68 bytes to U+0100 upwards, in byte order.
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
)

func init() {
	n := 0
	for b := range 256 {
		if ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

// encodeByteLevel maps each byte of s to its byte-level rune.
func encodeByteLevel(s string) string {
	var b strings.Builder
	b.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		b.WriteRune(byteToRune[s[i]])
	}
	return b.String()
}

// decodeByteLevel inverts encodeByteLevel. Runes outside the byte map (which
// a well-formed byte-level vocabulary never contains) are kept as UTF-8;
// llama.cpp writes "[UNK_BYTE_0x..]" for them instead.
func decodeByteLevel(s string) string {
	var b []byte
	for _, r := range s {
		if x, ok := runeToByte[r]; ok {
			b = append(b, x)
		} else {
			b = utf8.AppendRune(b, r)
		}
	}
	return string(b)
}

// A stage is one regex of llama.cpp's pre-tokenizer list: it splits one
// piece (as runes) into consecutive lengths covering it. Stages apply in
// order, each to every piece the previous one produced.
type stage func(s []rune, emit func(n int))

// Rune classes as llama.cpp's unicode tables define them: \p{L}, \p{N},
// \s = White_Space (Go's unicode.IsSpace is the same set).
func isL(r rune) bool { return unicode.IsLetter(r) }
func isN(r rune) bool { return unicode.IsNumber(r) }
func isS(r rune) bool { return unicode.IsSpace(r) }

// assigned reports whether r has a Unicode general category other than Cn.
// llama.cpp's hand-written gpt2/llama3 splitters give unassigned code points
// no flags, so they never match [^\s\p{L}\p{N}] there.
func assigned(r rune) bool {
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// contraction returns the length (2 or 3) of 's 't 're 've 'm 'll 'd at
// s[i], or 0. foldCase accepts upper-case letters too (llama3, qwen2).
func contraction(s []rune, i int, foldCase bool) int {
	if s[i] != '\'' || i+1 >= len(s) {
		return 0
	}
	low := func(r rune) rune {
		if foldCase {
			return lowerASCII(r)
		}
		return r
	}
	switch low(s[i+1]) {
	case 's', 't', 'm', 'd':
		return 2
	}
	if i+2 < len(s) {
		a, b := low(s[i+1]), low(s[i+2])
		if (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') {
			return 3
		}
	}
	return 0
}

// splitLlama3 implements
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,D}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// with D = maxDigits (3 for llama3, 1 for qwen2). Go's regexp has no
// lookahead, so each alternative is tried by hand in order, as a
// backtracking regex engine would: the first alternative that matches at
// the current position wins, with its greedy length. custom selects the
// behaviour of llama.cpp's hand-written llama3 scanner for unassigned code
// points (see assigned); qwen2 runs through std::regex instead, where they
// count as [^\s\p{L}\p{N}].
func splitLlama3(maxDigits int, custom bool) stage {
	return func(s []rune, emit func(int)) {
		n := len(s)
		punct := func(j int) bool {
			if j >= n {
				return false
			}
			r := s[j]
			return !isS(r) && !isL(r) && !isN(r) && (!custom || assigned(r))
		}
		for i := 0; i < n; {
			c := s[i]
			if k := contraction(s, i, true); k > 0 {
				emit(k)
				i += k
				continue
			}
			// [^\r\n\p{L}\p{N}]?\p{L}+
			if c != '\r' && c != '\n' && !isN(c) && (isL(c) || (i+1 < n && isL(s[i+1]))) {
				j := i + 1
				for j < n && isL(s[j]) {
					j++
				}
				emit(j - i)
				i = j
				continue
			}
			// \p{N}{1,D}
			if isN(c) {
				j := i
				for j < n && isN(s[j]) && j-i < maxDigits {
					j++
				}
				emit(j - i)
				i = j
				continue
			}
			// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
			var ok bool
			start := i
			if c == ' ' {
				start = i + 1
				if custom {
					// llama.cpp's scanner takes the space even when no
					// symbol follows it, unless whitespace/letter/number does.
					ok = start >= n || (!isS(s[start]) && !isL(s[start]) && !isN(s[start]))
				} else {
					ok = punct(start)
				}
			} else {
				ok = punct(i)
			}
			if ok {
				j := start
				for punct(j) {
					j++
				}
				for j < n && (s[j] == '\r' || s[j] == '\n') {
					j++
				}
				emit(j - i)
				i = j
				continue
			}
			// Whitespace alternatives.
			ws, lastNL := 0, 0
			for i+ws < n && isS(s[i+ws]) {
				if s[i+ws] == '\r' || s[i+ws] == '\n' {
					lastNL = ws + 1
				}
				ws++
			}
			switch {
			case lastNL > 0: // \s*[\r\n]+ ends at the last newline of the run
				emit(lastNL)
				i += lastNL
			case ws > 1 && i+ws < n: // \s+(?!\S) leaves one space for the next word
				emit(ws - 1)
				i += ws - 1
			case ws > 0: // \s+
				emit(ws)
				i += ws
			default: // nothing matched: the character stands alone
				emit(1)
				i++
			}
		}
	}
}

// splitGPT2 implements
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// as llama.cpp's hand-written gpt2 scanner does (llama.cpp lists the regex
// without the final \s+, but leaves unmatched text as its own piece, which
// has the same effect).
func splitGPT2(s []rune, emit func(int)) {
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		if k := contraction(s, i, false); k > 0 {
			emit(k)
			i += k
			continue
		}
		start := i
		if c == ' ' {
			start = i + 1
		}
		run := func(class func(rune) bool) bool {
			if start >= n || !class(s[start]) {
				return false
			}
			j := start
			for j < n && class(s[j]) {
				j++
			}
			emit(j - i)
			i = j
			return true
		}
		if run(isL) || run(isN) || run(func(r rune) bool { return !isS(r) && !isL(r) && !isN(r) && assigned(r) }) {
			continue
		}
		ws := 0
		for i+ws < n && isS(s[i+ws]) {
			ws++
		}
		switch {
		case ws > 1 && i+ws < n:
			emit(ws - 1)
			i += ws - 1
		case ws > 0:
			emit(ws)
			i += ws
		default:
			emit(1)
			i++
		}
	}
}

// matchRuns returns a stage for a regex of the form "[class]{min,max}"
// applied by std::regex_iterator: maximal matches left to right, text
// between matches kept as pieces of its own.
func matchRuns(class func(rune) bool, max int) stage {
	return func(s []rune, emit func(int)) {
		gap := 0
		for i := 0; i < len(s); {
			if !class(s[i]) {
				gap++
				i++
				continue
			}
			j := i
			for j < len(s) && class(s[j]) && (max == 0 || j-i < max) {
				j++
			}
			if max > 0 && j-i < max {
				// {max,max}: a shorter run is not a match.
				gap += j - i
				i = j
				continue
			}
			if gap > 0 {
				emit(gap)
				gap = 0
			}
			emit(j - i)
			i = j
		}
		if gap > 0 {
			emit(gap)
		}
	}
}

func isDigitASCII(r rune) bool { return '0' <= r && r <= '9' }

// Pre-tokenizer names accepted in tokenizer.ggml.pre, grouped by the regex
// list llama.cpp uses for them (llama-vocab.cpp, llm_tokenizer_bpe).
var (
	preLlama3 = map[string]bool{"llama3": true, "llama-v3": true, "llama-bpe": true, "falcon3": true, "falcon-h1": true, "pixtral": true, "midm-2.0": true, "lfm2": true}
	preQwen2  = map[string]bool{"qwen2": true, "deepseek-r1-qwen": true, "megrez": true, "stablelm2": true, "hunyuan": true}
	preSmolLM = map[string]bool{"smollm": true, "starcoder": true, "refact": true, "command-r": true, "codeshell": true, "exaone": true, "minerva-7b": true}
	preGPT2   = map[string]bool{"gpt-2": true, "gpt2": true, "phi-2": true, "mpt": true, "olmo": true, "jais": true, "trillion": true, "exaone4": true}
)

// preTokenizer returns the stages for a tokenizer.ggml.pre value and
// whether llama.cpp sets ignore_merges for it.
func preTokenizer(name string) ([]stage, bool, error) {
	switch {
	case preLlama3[name]:
		return []stage{splitLlama3(3, true)}, true, nil
	case name == "dbrx" || name == "smaug-bpe":
		return []stage{splitLlama3(3, true)}, false, nil
	case preQwen2[name]:
		return []stage{splitLlama3(1, false)}, false, nil
	case preSmolLM[name]:
		return []stage{matchRuns(isN, 1), splitGPT2}, false, nil
	case preGPT2[name]:
		return []stage{splitGPT2}, false, nil
	case name == "default" || name == "":
		// llama.cpp falls back to this list (with a warning) when the key is missing.
		punct := func(r rune) bool { return unicode.IsPunct(r) || strings.ContainsRune("$+<=>^~|", r) }
		return []stage{matchRuns(punct, 0), splitGPT2, matchRuns(isN, 0), matchRuns(isDigitASCII, 3)}, false, nil
	}
	var names []string
	for _, m := range []map[string]bool{preLlama3, preQwen2, preSmolLM, preGPT2} {
		for k := range m {
			names = append(names, k)
		}
	}
	names = append(names, "dbrx", "smaug-bpe", "default")
	sort.Strings(names)
	return nil, false, fmt.Errorf("pre-tokenizer %q is not supported (supported: %s)", name, strings.Join(names, ", "))
}

// preSplit applies the stages to text and returns the pieces.
func preSplit(stages []stage, text string) []string {
	// llama.cpp decodes the text to code points first; invalid UTF-8 bytes
	// become U+FFFD (one per byte), so they do not survive a round trip.
	runes := []rune(text)
	bounds := []int{len(runes)} // lengths of consecutive pieces, in runes
	for _, st := range stages {
		var next []int
		off := 0
		for _, n := range bounds {
			st(runes[off:off+n], func(k int) {
				if k > 0 {
					next = append(next, k)
				}
			})
			off += n
		}
		bounds = next
	}
	out := make([]string, 0, len(bounds))
	off := 0
	for _, n := range bounds {
		out = append(out, string(runes[off:off+n]))
		off += n
	}
	return out
}
