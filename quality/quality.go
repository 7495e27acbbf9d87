// Package quality measures how far a compressed model's next-token
// distributions drift from a reference model's over the same token stream:
// KL divergence, top-token agreement, the probability shift of the
// reference's top token and, on real text, perplexity.
package quality

import (
	"context"
	"fmt"
	"math"

	"github.com/edgebench/edgebench/stats"
	"github.com/edgebench/edgebench/transformer"
)

// Options control Compare.
type Options struct {
	// Text says the tokens are tokenized real text, so that perplexity (of
	// the actual next token) means something. Random token streams have no
	// meaningful perplexity, so it is only reported when Text is set.
	Text bool
}

// Report summarises a comparison. KLD values are in nats.
type Report struct {
	Positions  int     `json:"positions"`
	MeanKLD    float64 `json:"mean_kld"`
	P99KLD     float64 `json:"p99_kld"`
	MaxKLD     float64 `json:"max_kld"`
	SameTop    float64 `json:"same_top_rate"` // fraction of positions whose argmax agrees
	MeanDeltaP float64 `json:"mean_delta_p"`  // mean of p_test(top_ref) − p_ref(top_ref)
	// MeanRefTopP is the mean p_ref(top_ref): the scale Δp is read against
	// (near 1/vocab for synthetic models' almost flat distributions).
	MeanRefTopP float64 `json:"mean_ref_top_p"`
	// Restarts counts how often both KV caches were emptied because the
	// stream was longer than the smaller model context.
	Restarts int `json:"restarts"`
	// Perplexity of each model over the stream (exp of the mean negative
	// log-likelihood of the actual next token); set only when Options.Text.
	Text        bool       `json:"text"`
	PPLTokens   int        `json:"ppl_tokens,omitempty"`
	RefPPL      float64    `json:"ref_ppl,omitempty"`
	TestPPL     float64    `json:"test_ppl,omitempty"`
	PerPosition []Position `json:"-"`
}

// Position holds the metrics of one stream position.
type Position struct {
	KLD     float64
	SameTop bool
	DeltaP  float64
	RefTopP float64 // p_ref(top_ref)
}

// Scratch holds the float64 log-softmax buffers for Logits so that a long
// comparison allocates them once.
type Scratch struct{ lr, lt []float64 }

// logSoftmax writes x − logsumexp(x) into dst in float64. Subtracting the
// maximum first keeps exp from overflowing; the result is exact for the
// largest logit (0 − log Σ).
func logSoftmax(dst []float64, x []float32) error {
	mx := math.Inf(-1)
	for i, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("logit %d is %v", i, v)
		}
		mx = max(mx, f)
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(sum)
	for i, v := range x {
		dst[i] = float64(v) - lse
	}
	return nil
}

// Logits compares one pair of logit vectors: KL(P_ref ‖ P_test), whether the
// argmax (first maximum) agrees, and Δp = p_test(top_ref) − p_ref(top_ref).
// s may be nil.
func (s *Scratch) Logits(ref, test []float32) (Position, error) {
	if len(ref) != len(test) {
		return Position{}, fmt.Errorf("quality: logit vectors differ in length: reference %d, test %d", len(ref), len(test))
	}
	if len(ref) == 0 {
		return Position{}, fmt.Errorf("quality: empty logit vectors")
	}
	if s == nil {
		s = &Scratch{}
	}
	if cap(s.lr) < len(ref) {
		s.lr, s.lt = make([]float64, len(ref)), make([]float64, len(ref))
	}
	lr, lt := s.lr[:len(ref)], s.lt[:len(ref)]
	if err := logSoftmax(lr, ref); err != nil {
		return Position{}, fmt.Errorf("quality: reference %w", err)
	}
	if err := logSoftmax(lt, test); err != nil {
		return Position{}, fmt.Errorf("quality: test %w", err)
	}
	var kl float64
	topR, topT := 0, 0
	for i := range lr {
		// p log(p/q) with p = exp(lr); terms whose p underflows to 0 are
		// 0·log 0 = 0. lt is finite (finite logits), so nothing is infinite.
		if p := math.Exp(lr[i]); p > 0 {
			kl += p * (lr[i] - lt[i])
		}
		if ref[i] > ref[topR] {
			topR = i
		}
		if test[i] > test[topT] {
			topT = i
		}
	}
	// KL is ≥ 0; a tiny negative sum is rounding between nearly equal
	// distributions, reported as 0.
	kl = max(kl, 0)
	return Position{
		KLD:     kl,
		SameTop: topR == topT,
		DeltaP:  math.Exp(lt[topR]) - math.Exp(lr[topR]),
		RefTopP: math.Exp(lr[topR]),
	}, nil
}

// Summarize aggregates per-position comparisons: mean, 99th-percentile and
// maximum KL divergence, the same-top-token rate, mean Δp and mean
// p_ref(top_ref). It is what Compare reports, for callers that produce the
// positions themselves (e.g. against cached reference logits).
func Summarize(ps []Position) Report {
	rep := Report{Positions: len(ps), PerPosition: ps}
	if len(ps) == 0 {
		return rep
	}
	klds := make([]float64, len(ps))
	same := 0
	for i, p := range ps {
		klds[i] = p.KLD
		rep.MeanKLD += p.KLD
		rep.MaxKLD = max(rep.MaxKLD, p.KLD)
		rep.MeanDeltaP += p.DeltaP
		rep.MeanRefTopP += p.RefTopP
		if p.SameTop {
			same++
		}
	}
	n := float64(len(ps))
	rep.MeanKLD /= n
	rep.MeanDeltaP /= n
	rep.MeanRefTopP /= n
	rep.SameTop = float64(same) / n
	rep.P99KLD = stats.Quantile(klds, 0.99)
	return rep
}

// Compare feeds tokens to both models one Decode at a time (teacher forcing:
// the next input is always the stream's next token) and compares the
// next-token distributions at every position. Both models are Reset first
// and again whenever the stream outgrows the smaller KV cache.
func Compare(ctx context.Context, ref, test *transformer.Model, tokens []int, opts Options) (Report, error) {
	if ref == nil || test == nil {
		return Report{}, fmt.Errorf("quality: nil model")
	}
	rv, tv := ref.Config().Vocab, test.Config().Vocab
	if rv != tv {
		return Report{}, fmt.Errorf("quality: vocabulary sizes differ: reference %d tokens, test %d tokens", rv, tv)
	}
	if len(tokens) == 0 {
		return Report{}, fmt.Errorf("quality: no tokens to compare over")
	}
	if opts.Text && len(tokens) < 2 {
		return Report{}, fmt.Errorf("quality: perplexity needs at least 2 tokens, got %d", len(tokens))
	}
	for i, t := range tokens {
		if t < 0 || t >= rv {
			return Report{}, fmt.Errorf("quality: token %d (index %d) out of range [0,%d)", t, i, rv)
		}
	}
	window := min(ref.MaxContext(), test.MaxContext())
	ref.Reset()
	test.Reset()
	rep := Report{Positions: len(tokens), Text: opts.Text, PerPosition: make([]Position, len(tokens))}
	var s Scratch
	var nllR, nllT float64
	for i, tok := range tokens {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		if ref.Pos() >= window {
			ref.Reset()
			test.Reset()
			rep.Restarts++
		}
		lr, err := ref.Decode(tok)
		if err != nil {
			return Report{}, fmt.Errorf("quality: reference: %w", err)
		}
		// lr is ref's own buffer: test.Decode does not touch it.
		lt, err := test.Decode(tok)
		if err != nil {
			return Report{}, fmt.Errorf("quality: test: %w", err)
		}
		p, err := s.Logits(lr, lt)
		if err != nil {
			return Report{}, fmt.Errorf("quality: position %d: %w", i, err)
		}
		rep.PerPosition[i] = p
		if opts.Text && i+1 < len(tokens) {
			// s still holds this position's log-softmax of both models.
			next := tokens[i+1]
			nllR -= s.lr[next]
			nllT -= s.lt[next]
		}
	}
	sum := Summarize(rep.PerPosition)
	sum.Restarts, sum.Text = rep.Restarts, rep.Text
	rep = sum
	if opts.Text {
		rep.PPLTokens = len(tokens) - 1
		rep.RefPPL = math.Exp(nllR / float64(rep.PPLTokens))
		rep.TestPPL = math.Exp(nllT / float64(rep.PPLTokens))
	}
	return rep, nil
}
