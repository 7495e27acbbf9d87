package tokenizer

// spaceMarker is SentencePiece's visible space, U+2581 "▁".
const spaceMarker = "\u2581"

// symbol is one piece of the text being merged: a byte range [start,
// start+n) of the text, linked to its neighbours. n == 0 marks a symbol
// merged into its left neighbour.
type symbol struct {
	prev, next int
	start, n   int
}

// candidate is a possible merge of two adjacent symbols. For SentencePiece
// the best candidate has the highest score, for BPE the lowest rank; ties go
// to the leftmost, as in llama.cpp.
type candidate struct {
	left, right int
	size        int     // byte length of the merged text when it was queued
	score       float32 // SPM: score of the merged token; BPE: -rank
}

// queue is a binary max-heap of candidates by better(); typed rather than
// container/heap so that pushes do not box each candidate.
type queue []candidate

func better(a, b candidate) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.left < b.left
}

func (q *queue) push(c candidate) {
	*q = append(*q, c)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !better(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *queue) pop() candidate {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && better(h[l], h[m]) {
			m = l
		}
		if r < len(h) && better(h[r], h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// utf8Len is the length of the UTF-8 sequence a lead byte announces, as
// llama.cpp's unicode_len_utf8 computes it (continuation and invalid lead
// bytes count as 1), so malformed input splits the same way.
func utf8Len(b byte) int {
	switch b >> 4 {
	case 0xC, 0xD:
		return 2
	case 0xE:
		return 3
	case 0xF:
		return 4
	}
	return 1
}

// splitChars makes one symbol per UTF-8 character of s.
func splitChars(s string, syms []symbol) []symbol {
	syms = syms[:0]
	for off := 0; off < len(s); {
		n := min(utf8Len(s[off]), len(s)-off)
		syms = append(syms, symbol{prev: len(syms) - 1, next: len(syms) + 1, start: off, n: n})
		off += n
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	return syms
}

// merge runs the greedy pair-merging loop shared by both tokenizers; rate
// says whether two adjacent symbols may merge and with what priority. It
// gets both texts and their concatenation (a substring of s, since
// adjacent symbols are contiguous), so lookups allocate nothing.
func merge(s string, syms []symbol, rate func(left, right, both string) (float32, bool)) {
	var q queue
	try := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		a, b := syms[l], syms[r]
		score, ok := rate(s[a.start:a.start+a.n], s[b.start:b.start+b.n], s[a.start:b.start+b.n])
		if !ok {
			return
		}
		q.push(candidate{left: l, right: r, size: a.n + b.n, score: score})
	}
	for i := 1; i < len(syms); i++ {
		try(i-1, i)
	}
	for len(q) > 0 {
		c := q.pop()
		l, r := &syms[c.left], &syms[c.right]
		// Stale: one side was merged away or grew since this was queued.
		if l.n == 0 || r.n == 0 || l.n+r.n != c.size || l.next != c.right {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = c.left
		}
		try(l.prev, c.left)
		try(c.left, l.next)
	}
}

// encodeSPM tokenizes one escaped fragment with SentencePiece BPE: start
// from characters, repeatedly merge the adjacent pair whose concatenation is
// the highest-scoring token, then emit each symbol's token, or its bytes as
// <0xXX> tokens when the symbol (a single character) is not in the vocabulary.
func (t *Tokenizer) encodeSPM(s string, out []int) []int {
	syms := splitChars(s, nil)
	merge(s, syms, func(_, _, both string) (float32, bool) {
		id, ok := t.index[both]
		if !ok {
			return 0, false
		}
		return t.scores[id], true
	})
	for i := 0; len(syms) > 0 && i >= 0; i = syms[i].next {
		sy := syms[i]
		piece := s[sy.start : sy.start+sy.n]
		if id, ok := t.index[piece]; ok {
			out = append(out, id)
			continue
		}
		out = t.appendBytes(piece, out)
	}
	return out
}

// appendBytes emits byte-fallback tokens for each byte of piece; bytes
// without one become the unknown token, or are dropped when the vocabulary
// has none (llama.cpp aborts there).
func (t *Tokenizer) appendBytes(piece string, out []int) []int {
	for j := 0; j < len(piece); j++ {
		if id := t.byteTok[piece[j]]; id >= 0 {
			out = append(out, id)
		} else if t.unk >= 0 {
			out = append(out, t.unk)
		}
	}
	return out
}

// encodeBPE tokenizes one raw fragment with byte-level BPE: pre-tokenize,
// map each piece's bytes to byte-level runes, then repeatedly merge the
// adjacent pair with the lowest merge rank.
func (t *Tokenizer) encodeBPE(text string, out []int) []int {
	var syms []symbol
	for _, word := range preSplit(t.splitter, text) {
		w := encodeByteLevel(word)
		if t.ignoreMerges {
			if id, ok := t.index[w]; ok {
				out = append(out, id)
				continue
			}
		}
		syms = splitChars(w, syms)
		merge(w, syms, func(a, b, _ string) (float32, bool) {
			rank, ok := t.merges[pair{a, b}]
			return -float32(rank), ok
		})
		for i := 0; len(syms) > 0 && i >= 0; i = syms[i].next {
			sy := syms[i]
			piece := w[sy.start : sy.start+sy.n]
			if id, ok := t.index[piece]; ok {
				out = append(out, id)
				continue
			}
			// A merge produced a text that is not a token, or a byte's rune
			// is missing: fall back to the single byte-level characters.
			for _, r := range piece {
				if id, ok := t.index[string(r)]; ok {
					out = append(out, id)
				} else if t.unk >= 0 {
					out = append(out, t.unk)
				}
			}
		}
	}
	return out
}
