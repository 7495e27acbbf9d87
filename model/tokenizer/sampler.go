package tokenizer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// SamplerConfig selects how the next token is drawn from logits. The chain
// is llama.cpp's default order: top-k, then top-p on the resulting
// probabilities at temperature 1, then temperature, then a draw. A
// Temperature of 0 is greedy decoding (the highest logit, lowest id on ties).
type SamplerConfig struct {
	Temperature float64 // 0 = greedy
	TopK        int     // keep the k highest logits; 0 = all
	TopP        float64 // keep the smallest set of tokens whose probability sum reaches p; 1 = all
	Seed        uint64  // the same seed and logits give the same draws
}

// Sampler draws token ids from logits. It reuses its buffers; not safe for
// concurrent use.
type Sampler struct {
	cfg   SamplerConfig
	rng   *rand.Rand
	idx   []int
	top   []int
	probs []float64
}

// NewSampler checks cfg and returns a sampler.
func NewSampler(cfg SamplerConfig) (*Sampler, error) {
	switch {
	case cfg.Temperature < 0 || math.IsNaN(cfg.Temperature) || math.IsInf(cfg.Temperature, 0):
		return nil, fmt.Errorf("sampler: temperature %v must be >= 0 (0 = greedy)", cfg.Temperature)
	case cfg.TopK < 0:
		return nil, fmt.Errorf("sampler: top-k %d must be >= 0 (0 = off)", cfg.TopK)
	case !(cfg.TopP > 0 && cfg.TopP <= 1):
		return nil, fmt.Errorf("sampler: top-p %v must be in (0, 1] (1 = off)", cfg.TopP)
	}
	return &Sampler{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}, nil
}

// Sample returns the next token id. logits must not be empty; NaN logits
// are never chosen unless all are NaN.
func (s *Sampler) Sample(logits []float32) int {
	if s.cfg.Temperature == 0 {
		return argmax(logits)
	}
	cand := s.candidates(logits)
	// Probabilities at temperature 1 for top-p, relative to the best logit.
	best := float64(logits[cand[0]])
	p := s.probs[:0]
	sum := 0.0
	for _, id := range cand {
		e := math.Exp(float64(logits[id]) - best)
		p = append(p, e)
		sum += e
	}
	if s.cfg.TopP < 1 {
		acc, keep := 0.0, len(cand)
		for i, e := range p {
			acc += e / sum
			if acc >= s.cfg.TopP {
				keep = i + 1
				break
			}
		}
		cand, p = cand[:keep], p[:keep]
	}
	// Temperature, then a draw by inverse CDF.
	sum = 0
	for i, id := range cand {
		p[i] = math.Exp((float64(logits[id]) - best) / s.cfg.Temperature)
		sum += p[i]
	}
	s.probs = p
	u := s.rng.Float64() * sum
	for i, e := range p {
		u -= e
		if u < 0 {
			return cand[i]
		}
	}
	return cand[len(cand)-1]
}

// candidates returns token ids sorted by logit, highest first (ties by
// id), cut to top-k. NaN logits are left out.
func (s *Sampler) candidates(logits []float32) []int {
	s.idx = s.idx[:0]
	for i, l := range logits {
		if !math.IsNaN(float64(l)) {
			s.idx = append(s.idx, i)
		}
	}
	if len(s.idx) == 0 {
		s.idx = append(s.idx, 0)
		return s.idx
	}
	less := func(a, b int) bool {
		la, lb := logits[a], logits[b]
		return la > lb || (la == lb && a < b)
	}
	k := s.cfg.TopK
	if k > 0 && k < len(s.idx) {
		// Bounded insertion of the k best: most logits are rejected by one
		// comparison with the current k-th, so for the usual k ≤ 100 over
		// a vocabulary of 32k–256k this beats sorting everything.
		top := s.top[:0]
		for _, id := range s.idx {
			if len(top) == k && !less(id, top[k-1]) {
				continue
			}
			j := sort.Search(len(top), func(j int) bool { return less(id, top[j]) })
			if len(top) < k {
				top = append(top, 0)
			}
			copy(top[j+1:], top[j:len(top)-1])
			top[j] = id
		}
		s.top = top
		return top
	}
	sort.Slice(s.idx, func(i, j int) bool { return less(s.idx[i], s.idx[j]) })
	return s.idx
}

func argmax(logits []float32) int {
	best := 0
	for i, l := range logits {
		if math.IsNaN(float64(l)) {
			continue
		}
		if l > logits[best] || math.IsNaN(float64(logits[best])) {
			best = i
		}
	}
	return best
}
