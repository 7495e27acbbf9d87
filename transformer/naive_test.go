package transformer

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
)

// naive is the test oracle: a deliberately plain Llama-family decoder in
// float64 over fully dequantized weights, written from the architecture's
// definition and sharing nothing with the runtime but kernels.Dequantize
// (to read the weight bytes). It recomputes everything token by token with
// its own KV cache and rope, so a shared bug would have to be written twice.
type naive struct {
	cfg      model.Config
	emb, out [][]float64 // [vocab][hidden]
	outNorm  []float64
	layers   []naiveLayer
	freqs    []float64 // llama3 rope frequency factors, nil when absent
	neox     bool
	kvF16    bool // store keys and values rounded to IEEE half precision
	// kvQ8 computes what a q8_0 KV cache does: keys rounded through q8_0
	// per head row and each query head too; values and probabilities
	// rounded through q8_0 along the positions of each complete block of
	// 32, exact in the last, incomplete block.
	kvQ8 bool

	keys, vals [][][]float64 // [layer][pos][kvHeads*headDim]
}

type naiveLayer struct {
	attnNorm, ffnNorm []float64
	wq, wk, wv, wo    [][]float64 // [out][in]
	gate, up, down    [][]float64
	bq, bk, bv        []float64
}

// naiveTensor dequantizes a whole tensor into rows of dims[0] values.
func naiveTensor(t testing.TB, f *gguf.File, name string) [][]float64 {
	t.Helper()
	ti, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("oracle: tensor %s missing", name)
	}
	cols := int(ti.Dims[0])
	rows := 1
	for _, d := range ti.Dims[1:] {
		rows *= int(d)
	}
	rb, err := ti.Type.RowBytes(cols)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, rows)
	buf := make([]float32, cols)
	for r := range out {
		if err := kernels.Dequantize(ti.Type, buf, ti.Data[r*rb:(r+1)*rb]); err != nil {
			t.Fatalf("oracle: %s row %d: %v", name, r, err)
		}
		out[r] = make([]float64, cols)
		for c, v := range buf {
			out[r][c] = float64(v)
		}
	}
	return out
}

func naiveVector(t testing.TB, f *gguf.File, name string) []float64 {
	if _, ok := f.Tensor(name); !ok {
		return nil
	}
	return naiveTensor(t, f, name)[0]
}

func newNaive(t testing.TB, f *gguf.File, cfg model.Config) *naive {
	t.Helper()
	n := &naive{cfg: cfg, neox: cfg.Arch == "qwen2"} // llama.cpp: LLAMA_ROPE_TYPE_NORM for llama, NEOX for qwen2
	n.emb = naiveTensor(t, f, "token_embd.weight")
	if _, ok := f.Tensor("output.weight"); ok {
		n.out = naiveTensor(t, f, "output.weight")
	} else {
		n.out = n.emb
	}
	n.outNorm = naiveVector(t, f, "output_norm.weight")
	n.freqs = naiveVector(t, f, "rope_freqs.weight")
	for i := 0; i < cfg.Layers; i++ {
		p := fmt.Sprintf("blk.%d.", i)
		n.layers = append(n.layers, naiveLayer{
			attnNorm: naiveVector(t, f, p+"attn_norm.weight"),
			ffnNorm:  naiveVector(t, f, p+"ffn_norm.weight"),
			wq:       naiveTensor(t, f, p+"attn_q.weight"),
			wk:       naiveTensor(t, f, p+"attn_k.weight"),
			wv:       naiveTensor(t, f, p+"attn_v.weight"),
			wo:       naiveTensor(t, f, p+"attn_output.weight"),
			gate:     naiveTensor(t, f, p+"ffn_gate.weight"),
			up:       naiveTensor(t, f, p+"ffn_up.weight"),
			down:     naiveTensor(t, f, p+"ffn_down.weight"),
			bq:       naiveVector(t, f, p+"attn_q.bias"),
			bk:       naiveVector(t, f, p+"attn_k.bias"),
			bv:       naiveVector(t, f, p+"attn_v.bias"),
		})
	}
	n.keys = make([][][]float64, cfg.Layers)
	n.vals = make([][][]float64, cfg.Layers)
	return n
}

func naiveMatVec(w [][]float64, x []float64, bias []float64) []float64 {
	y := make([]float64, len(w))
	for r, row := range w {
		var s float64
		for c, v := range row {
			s += v * x[c]
		}
		if bias != nil {
			s += bias[r]
		}
		y[r] = s
	}
	return y
}

func naiveRMSNorm(x, w []float64, eps float64) []float64 {
	var ss float64
	for _, v := range x {
		ss += v * v
	}
	inv := 1 / math.Sqrt(ss/float64(len(x))+eps)
	y := make([]float64, len(x))
	for i := range x {
		y[i] = x[i] * inv * w[i]
	}
	return y
}

// rope rotates each head of v in place for position pos.
func (n *naive) rope(v []float64, pos int) {
	hd := n.cfg.HeadDim
	for h := 0; h < len(v)/hd; h++ {
		head := v[h*hd : (h+1)*hd]
		for i := 0; i < hd/2; i++ {
			theta := float64(pos) * math.Pow(float64(n.cfg.RopeTheta), -float64(2*i)/float64(hd))
			if n.freqs != nil {
				theta /= n.freqs[i]
			}
			a, b := 2*i, 2*i+1
			if n.neox {
				a, b = i, i+hd/2
			}
			x0, x1 := head[a], head[b]
			head[a] = x0*math.Cos(theta) - x1*math.Sin(theta)
			head[b] = x0*math.Sin(theta) + x1*math.Cos(theta)
		}
	}
}

// step feeds one token at the next position and returns its logits.
func (n *naive) step(token int) []float64 {
	c := n.cfg
	eps := float64(c.RMSEps)
	pos := len(n.keys[0])
	x := append([]float64(nil), n.emb[token]...)
	for l, L := range n.layers {
		h := naiveRMSNorm(x, L.attnNorm, eps)
		q := naiveMatVec(L.wq, h, L.bq)
		k := naiveMatVec(L.wk, h, L.bk)
		v := naiveMatVec(L.wv, h, L.bv)
		n.rope(q, pos)
		n.rope(k, pos)
		if n.kvF16 {
			for i := range k {
				k[i], v[i] = roundF16(k[i]), roundF16(v[i])
			}
		}
		if n.kvQ8 {
			k = roundQ8(k)
			q = roundQ8(q) // head dim is whole blocks, so this is per head
		}
		n.keys[l] = append(n.keys[l], k)
		n.vals[l] = append(n.vals[l], v)
		att := make([]float64, c.Heads*c.HeadDim)
		for head := 0; head < c.Heads; head++ {
			kvh := head / (c.Heads / c.KVHeads)
			qh := q[head*c.HeadDim : (head+1)*c.HeadDim]
			w := make([]float64, pos+1)
			maxw := math.Inf(-1)
			for t := 0; t <= pos; t++ {
				kt := n.keys[l][t][kvh*c.HeadDim:]
				var s float64
				for d := range qh {
					s += qh[d] * kt[d]
				}
				w[t] = s / math.Sqrt(float64(c.HeadDim))
				maxw = math.Max(maxw, w[t])
			}
			var sum float64
			for t := range w {
				w[t] = math.Exp(w[t] - maxw)
				sum += w[t]
			}
			for t := range w {
				w[t] /= sum
			}
			if n.kvQ8 {
				full := len(w) / 32 * 32
				wq := append(roundQ8(w[:full]), w[full:]...)
				for d := 0; d < c.HeadDim; d++ {
					col := make([]float64, len(w))
					for t := range col {
						col[t] = n.vals[l][t][kvh*c.HeadDim+d]
					}
					col = append(roundQ8(col[:full]), col[full:]...)
					for t := range col {
						att[head*c.HeadDim+d] += wq[t] * col[t]
					}
				}
				continue
			}
			for t := range w {
				vt := n.vals[l][t][kvh*c.HeadDim:]
				for d := 0; d < c.HeadDim; d++ {
					att[head*c.HeadDim+d] += w[t] * vt[d]
				}
			}
		}
		o := naiveMatVec(L.wo, att, nil)
		for i := range x {
			x[i] += o[i]
		}
		h = naiveRMSNorm(x, L.ffnNorm, eps)
		g := naiveMatVec(L.gate, h, nil)
		u := naiveMatVec(L.up, h, nil)
		for i := range g {
			g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
		}
		d := naiveMatVec(L.down, g, nil)
		for i := range x {
			x[i] += d[i]
		}
	}
	return naiveMatVec(n.out, naiveRMSNorm(x, n.outNorm, eps), nil)
}

// relErr is max|got-want| / max|want|: the error relative to the logits'
// scale (element-wise relative error is meaningless for logits near 0).
func relErr(got []float32, want []float64) float64 {
	var maxDiff, maxRef float64
	for i := range want {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i])-want[i]))
		maxRef = math.Max(maxRef, math.Abs(want[i]))
	}
	return maxDiff / maxRef
}

func relErr32(got, want []float32) float64 {
	w := make([]float64, len(want))
	for i, v := range want {
		w[i] = float64(v)
	}
	return relErr(got, w)
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// roundF16 rounds x to the nearest IEEE binary16 value (ties to even):
// 11 significant bits for normal values, a fixed 2^-24 step below 2^-14.
func roundF16(x float64) float64 {
	if x == 0 {
		return 0
	}
	frac, exp := math.Frexp(x) // x = frac·2^exp, 0.5 <= |frac| < 1
	if exp < -13 {
		return math.RoundToEven(x*(1<<24)) / (1 << 24)
	}
	return math.Ldexp(math.RoundToEven(frac*2048), exp-11)
}

// roundQ8 rounds x (whole 32-value blocks) through q8_0: float32, the
// kernels' quantizer, back to float64.
func roundQ8(x []float64) []float64 {
	f := make([]float32, len(x))
	for i, v := range x {
		f[i] = float32(v)
	}
	b := make([]byte, len(x)/32*34)
	if err := kernels.Quantize(kernels.Q8_0, b, f); err != nil {
		panic(err)
	}
	if err := kernels.Dequantize(kernels.Q8_0, f, b); err != nil {
		panic(err)
	}
	out := make([]float64, len(x))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out
}
