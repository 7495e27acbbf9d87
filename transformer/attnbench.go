package transformer

import (
	"fmt"
	"math/rand/v2"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
)

// AttentionShape is the attention geometry of a model: query heads, kv
// heads (grouped-query attention) and head dim.
type AttentionShape struct{ Heads, KVHeads, HeadDim int }

func (s AttentionShape) String() string {
	return fmt.Sprintf("%dq/%dkv/%d", s.Heads, s.KVHeads, s.HeadDim)
}

// AttentionBench times the attention of one decode token with the
// runtime's own code (the pool loop forward runs, over a cache filled with
// random keys and values), for `edgebench kernels --ops attention`. It
// holds no weights: layers copies of one layer's cache, which Run cycles
// through so that the cache is read from memory, as a decode's many layers
// read it, rather than from a warm cache.
type AttentionBench struct {
	m            *Model
	depth, layer int
}

// NewAttentionBench builds the cache for depth positions before the
// decoded one, in kv's element type on backend with threads workers (0 =
// every CPU), in layers copies.
func NewAttentionBench(s AttentionShape, kv kernels.Type, depth, layers int, backend string, threads int, seed uint64) (*AttentionBench, error) {
	if depth < 0 || layers < 1 {
		return nil, fmt.Errorf("transformer: attention benchmark: depth %d and %d layers (want depth >= 0, layers >= 1)", depth, layers)
	}
	cfg := model.Config{Name: "attention", Arch: "llama", Hidden: s.Heads * s.HeadDim, Layers: layers,
		Heads: s.Heads, KVHeads: s.KVHeads, HeadDim: s.HeadDim, FFN: 1, Vocab: 1,
		ContextLength: depth + 1, RopeTheta: 10000, RMSEps: 1e-5}
	name := "attention " + s.String()
	m, b, err := newModel(name, cfg, Options{Threads: threads, Backend: backend, MaxContext: depth + 1, PrefillChunk: 1, KVType: kv})
	if err != nil {
		return nil, err
	}
	m.layers = make([]layer, layers)
	m.ropeTables(nil)
	if err := m.setupKV(name, b); err != nil {
		m.pool.Close()
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 0x617474))
	k, v := m.kStage[:m.kvDim], m.vStage[:m.kvDim]
	for l := range layers {
		for p := 0; p <= depth; p++ {
			for i := range k {
				k[i], v[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			}
			m.storeKV(l, p, k, v, 0, m.kvDim)
		}
	}
	for i := range m.q {
		m.q[i] = float32(r.NormFloat64())
	}
	return &AttentionBench{m: m, depth: depth}, nil
}

// Run computes one decode token's attention (every query head, over depth
// cached positions and its own) in the next layer's cache.
func (a *AttentionBench) Run() {
	m := a.m
	m.curLayer, m.curN, m.curP0 = a.layer, 1, a.depth
	m.attend()
	a.layer = (a.layer + 1) % len(m.layers)
}

// KVBytes is the cache Run reads: keys and values of depth+1 positions of
// one layer.
func (a *AttentionBench) KVBytes() int64 {
	return 2 * int64(a.depth+1) * kvRowBytes(a.m.kvType, int64(a.m.kvDim))
}

// Flops counts a multiply and an add per score term and per output term.
func (a *AttentionBench) Flops() int64 {
	return 4 * int64(a.depth+1) * int64(a.m.heads*a.m.headDim)
}

// Backend names the backend whose kernels the cache's products run on.
func (a *AttentionBench) Backend() string { return a.m.backendInfo["kv:"+a.m.kvType.String()] }

// Threads is the pool's size.
func (a *AttentionBench) Threads() int { return a.m.pool.Threads() }

// Close stops the pool.
func (a *AttentionBench) Close() { a.m.pool.Close() }
