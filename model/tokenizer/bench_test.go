package tokenizer

import (
	"strings"
	"testing"
)

// benchText is about 4 KiB of mixed prose, code and numbers, repeated.
var benchText = strings.Repeat(realTexts[0]+" "+realTexts[2]+realTexts[7]+" "+realTexts[9]+"\n", 8)

func benchEncode(b *testing.B, tok *Tokenizer) {
	b.SetBytes(int64(len(benchText)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n = len(tok.Encode(benchText, true))
	}
	b.ReportMetric(float64(n), "tokens/op")
}

// BenchmarkEncodeSPM: the synthetic 32000-piece SentencePiece vocabulary.
func BenchmarkEncodeSPM(b *testing.B) {
	v, err := ByteLevelSPM(32000)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := New("bench", v)
	if err != nil {
		b.Fatal(err)
	}
	benchEncode(b, tok)
}

// BenchmarkEncodeBPE: byte-level BPE with the llama3 pre-tokenizer and a
// merge for every ASCII pair.
func BenchmarkEncodeBPE(b *testing.B) {
	tok, err := New("bench", bpeRichVocab("llama-bpe"))
	if err != nil {
		b.Fatal(err)
	}
	benchEncode(b, tok)
}

func BenchmarkDecode(b *testing.B) {
	tok, err := New("bench", bpeRichVocab("llama-bpe"))
	if err != nil {
		b.Fatal(err)
	}
	ids := tok.Encode(benchText, false)
	b.SetBytes(int64(len(benchText)))
	b.ReportAllocs()
	for b.Loop() {
		_ = tok.Decode(ids)
	}
}
