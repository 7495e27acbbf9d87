package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Stream decodes tokens one at a time for printing as they are generated.
// It holds back the bytes of a UTF-8 character split across byte-fallback
// tokens until the character is complete, so every string it returns is
// whole characters (invalid bytes are passed through once it is clear they
// cannot complete a character).
type Stream struct {
	t       *Tokenizer
	pending []byte
	special bool
}

// NewStream starts a stream decoder. With special, control tokens are
// rendered as their text. Pieces are emitted as they are, without removing
// the SentencePiece dummy-prefix space: a stream continues text (a prompt)
// that was printed separately, as llama.cpp's examples do.
func (t *Tokenizer) NewStream(special bool) *Stream {
	return &Stream{t: t, special: special}
}

// Add appends token id and returns the text that is now complete.
func (s *Stream) Add(id int) string {
	s.pending = append(s.pending, s.t.Piece(id, s.special)...)
	// Find how much of pending is complete: hold back a trailing
	// incomplete (but so far valid) UTF-8 sequence of at most 3 bytes.
	cut := len(s.pending)
	for back := 1; back <= 3 && back <= len(s.pending); back++ {
		b := s.pending[len(s.pending)-back]
		if b < 0x80 {
			break // ASCII: everything before is complete
		}
		if b >= 0xC0 { // lead byte
			tail := s.pending[len(s.pending)-back:]
			if utf8Len(b) > back && !utf8.FullRune(tail) && validPrefix(tail) {
				cut = len(s.pending) - back
			}
			break
		}
	}
	out := string(s.pending[:cut])
	s.pending = append(s.pending[:0], s.pending[cut:]...)
	return out
}

// Flush returns whatever is held back (an incomplete character at the end).
func (s *Stream) Flush() string {
	out := string(s.pending)
	s.pending = s.pending[:0]
	return out
}

// validPrefix reports whether p (a lead byte and continuation bytes) could
// still become a valid character.
func validPrefix(p []byte) bool {
	for _, c := range p[1:] {
		if c&0xC0 != 0x80 {
			return false
		}
	}
	return true
}

// JoinPieces is the text a Stream prints for ids: every piece as is,
// without Decode's removal of the dummy-prefix space.
func (t *Tokenizer) JoinPieces(ids []int, special bool) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(t.Piece(id, special))
	}
	return b.String()
}
