package transformer

import "math"

// softmax replaces x by exp(x - max) / sum in place, as kernels.Softmax,
// with a float32-accurate exponential (exp32) instead of math.Exp:
// attention runs it over every cached position of every head and layer
// (21600 exponentials a token for SmolLM2-135M at depth 80), where
// math.Exp's ~8 ns each were ~5% of a decode's CPU time. The sum is still
// accumulated in float64, as ggml's soft_max does with its own float32
// SIMD exponential; the probabilities differ from kernels.Softmax's by at
// most an ulp or two.
func softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := exp32(v - mx)
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// exp32 is e^d for d <= 0 (the shifted scores softmax feeds it), within
// an ulp of float32(math.Exp(d)): d·log2(e) is split into an integer k and
// r in [-0.5, 0.5]; 2^r is a degree-7 Taylor polynomial of e^(r·ln2)
// (truncation error < 6e-9, a tenth of a float32 ulp) in float64, scaled
// by 2^k through the exponent bits and rounded to float32 once. Below
// -104 (e^-104 is under half the smallest float32 denormal) and at -Inf it
// returns 0; NaN stays NaN. For d > 0 it is still correct up to d = 88.
func exp32(d float32) float32 {
	if d != d {
		return d
	}
	if d < -104 {
		return 0
	}
	t := float64(d) * math.Log2E
	k := int64(t - 0.5) // round to nearest for t <= 0.5 (truncation toward zero)
	if t > 0.5 {
		k = int64(t + 0.5)
	}
	f := (t - float64(k)) * math.Ln2
	p := 1 + f*(1+f*(1.0/2+f*(1.0/6+f*(1.0/24+f*(1.0/120+f*(1.0/720+f*(1.0/5040)))))))
	return float32(p * math.Float64frombits(uint64(k+1023)<<52))
}
