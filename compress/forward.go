package compress

import (
	"math"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
)

// The calibration forward pass. The transformer package exposes no hooks
// for a layer's inputs, so Model runs its own float32 forward, layer by
// layer, over the dequantized weights of the model being written (earlier
// layers already compressed, as GPTQ's sequential mode does). It follows
// transformer's arithmetic: RMSNorm, q/k/v (+ qwen2 biases), RoPE with the
// file's frequency factors, causal grouped-query attention per calibration
// sequence, output projection, SwiGLU MLP, residuals.

// matmulT is y = X·Wᵀ: x is n×cols, w rows×cols, y n×rows.
func matmulT(y, x []float32, n int, w []float32, rows, cols int) {
	parallelRows(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			wr := w[r*cols : (r+1)*cols]
			for i := 0; i < n; i++ {
				y[i*rows+r] = kernels.DotF32(x[i*cols:(i+1)*cols], wr)
			}
		}
	})
}

func rmsnormRows(out, x []float32, n, h int, weight []float32, eps float32) {
	for i := 0; i < n; i++ {
		kernels.RMSNorm(out[i*h:(i+1)*h], x[i*h:(i+1)*h], weight, eps)
	}
}

// rope holds cos/sin of p·θ_i for positions 0..maxPos-1.
type rope struct {
	half     int
	cos, sin []float32
	neox     bool
}

func newRope(c model.Config, freqs []float32, maxPos int) *rope {
	half := c.HeadDim / 2
	r := &rope{half: half, cos: make([]float32, maxPos*half), sin: make([]float32, maxPos*half), neox: c.RopeNeox}
	for i := 0; i < half; i++ {
		th := math.Pow(float64(c.RopeTheta), -2*float64(i)/float64(c.HeadDim))
		if freqs != nil {
			th /= float64(freqs[i])
		}
		for p := 0; p < maxPos; p++ {
			s, co := math.Sincos(float64(p) * th)
			r.cos[p*half+i], r.sin[p*half+i] = float32(co), float32(s)
		}
	}
	return r
}

func (r *rope) apply(x []float32, heads, headDim, pos int) {
	kernels.RoPE(x, heads, headDim, r.cos[pos*r.half:(pos+1)*r.half], r.sin[pos*r.half:(pos+1)*r.half], r.neox)
}

// attention computes causal attention of each calibration sequence (rows
// [start, start+len) of q, k, v; positions from 0) into att (n×heads·hd).
func attention(att, q, k, v []float32, seqLens []int, c model.Config) {
	hd, heads, kvh := c.HeadDim, c.Heads, c.KVHeads
	Q, KV := heads*hd, kvh*hd
	group := heads / kvh
	scale := float32(1 / math.Sqrt(float64(hd)))
	start := 0
	for _, L := range seqLens {
		s0 := start
		parallelRows(heads, func(lo, hi int) {
			scores := make([]float32, L)
			for h := lo; h < hi; h++ {
				kvOff := (h / group) * hd
				for j := 0; j < L; j++ {
					qh := q[(s0+j)*Q+h*hd : (s0+j)*Q+(h+1)*hd]
					s := scores[:j+1]
					for t := range s {
						s[t] = kernels.DotF32(qh, k[(s0+t)*KV+kvOff:(s0+t)*KV+kvOff+hd]) * scale
					}
					kernels.Softmax(s)
					out := att[(s0+j)*Q+h*hd : (s0+j)*Q+(h+1)*hd]
					clear(out)
					for t, a := range s {
						kernels.Axpy(out, a, v[(s0+t)*KV+kvOff:(s0+t)*KV+kvOff+hd])
					}
				}
			}
		})
		start += L
	}
}
