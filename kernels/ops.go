package kernels

import (
	"fmt"
	"math"
)

// The elementwise ops are single-threaded: the runtime calls them per token
// and per head, where the vectors are too short to be worth splitting.
// Length mismatches are programmer errors and panic.

// RMSNorm sets out[i] = x[i] / sqrt(mean(x²) + eps) * weight[i]. out may alias x.
// The sum of squares is accumulated in float64, as ggml does.
func RMSNorm(out, x, weight []float32, eps float32) {
	n := len(x)
	if len(out) != n || len(weight) != n {
		panic(fmt.Sprintf("kernels: RMSNorm length mismatch: out %d, x %d, weight %d", len(out), n, len(weight)))
	}
	if n == 0 {
		return
	}
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := rmsScale(ss, n, eps)
	out = out[:n]
	weight = weight[:n]
	for i, v := range x {
		out[i] = v * scale * weight[i]
	}
}

// rmsScale is RMSNorm's 1/sqrt(mean square + eps) from the sum of squares
// ss of n values.
func rmsScale(ss float64, n int, eps float32) float32 {
	return float32(1 / math.Sqrt(ss/float64(n)+float64(eps)))
}

// Softmax replaces x by exp(x - max) / sum, in place; subtracting the maximum
// keeps exp from overflowing. Entries of -Inf (masked positions) become 0.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	_, sum := scaledExpGo(x, 1)
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// SiLUMul sets out[i] = silu(gate[i]) * up[i] with silu(g) = g / (1 + e^-g).
// out may alias gate or up.
func SiLUMul(out, gate, up []float32) {
	n := len(out)
	if len(gate) != n || len(up) != n {
		panic(fmt.Sprintf("kernels: SiLUMul length mismatch: out %d, gate %d, up %d", n, len(gate), len(up)))
	}
	gate = gate[:n]
	up = up[:n]
	for i := range out {
		g := gate[i]
		out[i] = g / (1 + float32(math.Exp(float64(-g)))) * up[i]
	}
}

// DotF32 returns sum a[i]*b[i] with four independent accumulators, which lets
// the additions overlap (the sum order differs from a plain loop).
func DotF32(a, b []float32) float32 {
	n := len(a)
	if len(b) != n {
		panic(fmt.Sprintf("kernels: DotF32 length mismatch: %d and %d", n, len(b)))
	}
	return dotF32(a, b[:n])
}

func dotF32(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= len(a) && i+8 <= len(b); i += 8 {
		aa := (*[8]float32)(a[i : i+8])
		bb := (*[8]float32)(b[i : i+8])
		s0 += aa[0]*bb[0] + aa[4]*bb[4]
		s1 += aa[1]*bb[1] + aa[5]*bb[5]
		s2 += aa[2]*bb[2] + aa[6]*bb[6]
		s3 += aa[3]*bb[3] + aa[7]*bb[7]
	}
	for ; i < len(a) && i < len(b); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Axpy sets y[i] += a*x[i], the product and the sum each rounded once
// (in SIMD where the CPU has the avx512 backend's instructions: bit for
// bit the scalar loop).
func Axpy(y []float32, a float32, x []float32) {
	n := len(y)
	if len(x) != n {
		panic(fmt.Sprintf("kernels: Axpy length mismatch: y %d, x %d", n, len(x)))
	}
	if axpySIMD != nil && n >= 16 {
		axpySIMD(y, a, x)
		return
	}
	axpyScalar(y, a, x)
}

func axpyScalar(y []float32, a float32, x []float32) {
	n := len(y)
	x = x[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		yy := (*[4]float32)(y[i : i+4])
		xx := (*[4]float32)(x[i : i+4])
		yy[0] += a * xx[0]
		yy[1] += a * xx[1]
		yy[2] += a * xx[2]
		yy[3] += a * xx[3]
	}
	for ; i < n; i++ {
		y[i] += a * x[i]
	}
}

// RoPE rotates nHeads heads of headDim values in x for one position, given
// that position's cos/sin tables (headDim/2 entries each). neox=false rotates
// the pairs (2i, 2i+1) (llama's "normal" mode); neox=true rotates the pairs
// (i, i+headDim/2) (qwen2, gpt-neox). Context.RoPE runs the backend's
// kernel where it has one, with the same bits.
func RoPE(x []float32, nHeads, headDim int, cos, sin []float32, neox bool) {
	checkRoPE(x, nHeads, headDim, cos, sin)
	half := headDim / 2
	for h := 0; h < nHeads; h++ {
		ropeHead(x[h*headDim:(h+1)*headDim], cos[:half], sin[:half], neox, 0)
	}
}

// checkRoPE panics unless x holds nHeads heads of an even headDim and the
// tables headDim/2 angles.
func checkRoPE(x []float32, nHeads, headDim int, cos, sin []float32) {
	half := headDim / 2
	if headDim%2 != 0 || nHeads < 0 || len(x) < nHeads*headDim || len(cos) < half || len(sin) < half {
		panic(fmt.Sprintf("kernels: RoPE shape mismatch: len(x)=%d, %d heads of %d, len(cos)=%d, len(sin)=%d", len(x), nHeads, headDim, len(cos), len(sin)))
	}
}

// ropeHead rotates pairs from.. of one head v (2*len(cos) values). Each
// product is converted to float32 before the sum, so no compiler fuses it
// into a multiply-add (Go may fuse x*y+z, and does on arm64): every
// platform and the SIMD kernels, which round each product too, get these
// bits.
func ropeHead(v, cos, sin []float32, neox bool, from int) {
	half := len(cos)
	if neox {
		lo, hi := v[:half], v[half:half+half]
		for i := from; i < half; i++ {
			x0, x1 := lo[i], hi[i]
			lo[i] = float32(x0*cos[i]) - float32(x1*sin[i])
			hi[i] = float32(x0*sin[i]) + float32(x1*cos[i])
		}
		return
	}
	for i := from; i < half; i++ {
		x0, x1 := v[2*i], v[2*i+1]
		v[2*i] = float32(x0*cos[i]) - float32(x1*sin[i])
		v[2*i+1] = float32(x0*sin[i]) + float32(x1*cos[i])
	}
}

// RoPE is the package's RoPE on the backend's kernel where it has one
// (ElementwiseKernel("rope")), bit for bit the same.
func (c *Context) RoPE(x []float32, nHeads, headDim int, cos, sin []float32, neox bool) {
	checkRoPE(x, nHeads, headDim, cos, sin)
	half := headDim / 2
	for h := 0; h < nHeads; h++ {
		v := x[h*headDim : (h+1)*headDim]
		from := 0
		if c.rope != nil && half > 0 {
			from = c.rope(v, cos[:half], sin[:half], neox)
		}
		ropeHead(v, cos[:half], sin[:half], neox, from)
	}
}
