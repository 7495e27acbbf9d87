package kernels

import (
	"fmt"
	"math"
	"testing"
)

// kquantBound bounds the round-trip error of the search-based k-quant
// quantizers relative to the block's largest magnitude. The limits sit about
// 1.5x above what ggml's rules give on Gaussian data (measured: q4_k 0.079,
// q5_k 0.042, q6_k 0.016, q2_k 0.34, q3_k 0.17, tq2_0 0.5); a wrong layout or
// scale packing gives errors of the order of the values themselves.
func kquantBound(t Type, blk []float32) float64 {
	var amax float64
	for _, v := range blk {
		amax = max(amax, math.Abs(float64(v)))
	}
	rel := map[Type]float64{Q4_K: 0.12, Q5_K: 0.065, Q6_K: 0.025, Q2_K: 0.5, Q3_K: 0.27, TQ2_0: 0.5 + 0x1p-10, TQ1_0: 0.5 + 0x1p-10}[t]
	if rel == 0 {
		panic("no round-trip bound for " + t.String())
	}
	return rel * amax
}

// guarded returns a copy of b inside a buffer with poison bytes on both sides
// and capacity cut at its end: an overread either panics (Go) or pulls the
// poison into the result (assembly).
func guarded(b []byte, off int) []byte {
	buf := make([]byte, off+len(b)+64)
	for i := range buf {
		buf[i] = 0x7f
	}
	copy(buf[off:], b)
	return buf[off : off+len(b) : off+len(b)]
}

// testRows makes a weight row of type ty and an activation row in its
// activation format, both n values, plus the float32 originals.
func testRows(t *testing.T, seed uint64, ty Type, n int) (w, x []byte, wf, xf []float32) {
	r := newRand(seed)
	wf, xf = randRow(r, n), randRow(r, n)
	w = make([]byte, mustRowBytes(t, ty, n))
	if err := Quantize(ty, w, wf); err != nil {
		t.Fatal(err)
	}
	at := ActivationType(ty)
	x = make([]byte, mustRowBytes(t, at, n))
	if err := Quantize(at, x, xf); err != nil {
		t.Fatal(err)
	}
	return w, x, wf, xf
}

// naiveDot dequantizes both rows and sums in float64. It returns the sum and
// the sum of absolute products, which scales the rounding bound.
func naiveDot(t *testing.T, ty Type, n int, w, x []byte) (float64, float64) {
	wd := make([]float32, n)
	xd := make([]float32, n)
	if err := Dequantize(ty, wd, w); err != nil {
		t.Fatal(err)
	}
	if err := Dequantize(ActivationType(ty), xd, x); err != nil {
		t.Fatal(err)
	}
	var s, a float64
	for i := range wd {
		p := float64(wd[i]) * float64(xd[i])
		s += p
		a += math.Abs(p)
	}
	return s, a
}

// floatBound: a float32 dot of n terms, summed in any order, is within
// n·2⁻²⁴·Σ|wᵢxᵢ| (first order) of the exact sum; two such dots are within
// twice that of each other. The slack factor covers second-order terms.
func floatBound(n int, absSum float64) float64 { return 2.5*float64(n+2)*0x1p-24*absSum + 1e-30 }

func testLengths(ty Type) []int {
	bs := ty.BlockSize()
	var ns []int
	if bs == 1 {
		for n := 0; n <= 70; n++ {
			ns = append(ns, n)
		}
		return append(ns, 255, 256, 1023, 4096)
	}
	for nb := 0; nb <= 9; nb++ {
		ns = append(ns, nb*bs)
	}
	return append(ns, 64*bs/max(1, bs/32))
}

func TestDotAgainstNaive(t *testing.T) {
	for _, name := range SupportedNames() {
		ty, _ := ParseType(name)
		for _, n := range testLengths(ty) {
			w, x, _, _ := testRows(t, uint64(n)*31+uint64(ty), ty, n)
			want, abs := naiveDot(t, ty, n, w, x)
			got := refBackend.Dot[ty](n, guarded(w, 3), guarded(x, 5))
			if d := math.Abs(float64(got) - want); d > floatBound(n, abs) {
				t.Errorf("ref %s n=%d: %g, naive %g (diff %g > %g)", ty, n, got, want, d, floatBound(n, abs))
			}
		}
	}
}

// TestBackendsAgainstRef checks every compiled-in backend this CPU can run,
// for every type it implements, against ref over all lengths. The go backend
// keeps ref's block order for quantized types and must match bit for bit;
// other backends may reassociate the float accumulation.
func TestBackendsAgainstRef(t *testing.T) {
	for _, b := range Backends() {
		if b == refBackend || !b.usable() {
			continue
		}
		for ty, dot := range b.Dot {
			ref := refBackend.Dot[ty]
			if ref == nil {
				t.Errorf("backend %s implements %s, which ref lacks", b.Name, ty)
				continue
			}
			exact := b == goBackend && ty.BlockSize() > 1
			for _, n := range testLengths(ty) {
				for _, off := range []int{0, 1, 4} {
					w, x, _, _ := testRows(t, uint64(n)*7+uint64(ty)*1000+uint64(off), ty, n)
					_, abs := naiveDot(t, ty, n, w, x)
					want := ref(n, w, x)
					got := dot(n, guarded(w, off), guarded(x, off))
					if exact && math.Float32bits(got) != math.Float32bits(want) {
						t.Fatalf("%s %s n=%d off=%d: %g, ref %g (must be identical)", b.Name, ty, n, off, got, want)
					}
					if d := math.Abs(float64(got - want)); d > floatBound(n, abs) {
						t.Fatalf("%s %s n=%d off=%d: %g, ref %g (diff %g > %g)", b.Name, ty, n, off, got, want, d, floatBound(n, abs))
					}
				}
			}
		}
	}
}

// TestIntegerBlockDot pins the quantized dot to its definition on one block
// built by hand: d_w*d_x*Σ q_w*q_x.
func TestIntegerBlockDot(t *testing.T) {
	var qw, qx [32]int8
	var want int32
	for j := range qw {
		qw[j] = int8(j - 16)
		qx[j] = int8(127 - 8*j)
		want += int32(qw[j]) * int32(qx[j])
	}
	w := q8Block(0x4000, qw) // d_w = 2
	x := q8Block(0x3400, qx) // d_x = 0.25
	for _, b := range Backends() {
		if f := b.Dot[Q8_0]; f != nil && b.usable() {
			if got := f(32, w, x); got != float32(want)*0.5 {
				t.Errorf("%s q8_0 block dot = %g, want %g", b.Name, got, float32(want)*0.5)
			}
		}
	}
	// q4_0 with every nibble 0xF (code 7) against x codes 1..32: 7*Σ = 7*528.
	w4 := make([]byte, 18)
	w4[1] = 0x3c // d = 1
	for j := 2; j < 18; j++ {
		w4[j] = 0xff
	}
	for j := range qx {
		qx[j] = int8(j + 1)
	}
	x = q8Block(0x3c00, qx)
	for _, b := range Backends() {
		if f := b.Dot[Q4_0]; f != nil && b.usable() {
			if got := f(32, w4, x); got != 7*528 {
				t.Errorf("%s q4_0 block dot = %g, want %d", b.Name, got, 7*528)
			}
		}
	}
}

func TestKernelFallbackAndBackendFor(t *testing.T) {
	for _, b := range Backends() {
		if !b.usable() {
			continue
		}
		c := NewContext(b, nil)
		for _, name := range SupportedNames() {
			ty, _ := ParseType(name)
			got, err := c.BackendFor(ty)
			if err != nil {
				t.Fatalf("%s: %v", ty, err)
			}
			if b.Dot[ty] != nil && got != b.Name {
				t.Errorf("backend %s implements %s but BackendFor says %s", b.Name, ty, got)
			}
		}
		if _, err := c.BackendFor(Q8_K); err == nil {
			t.Errorf("q8_K weights have a kernel?")
		}
	}
	if _, err := SelectBackend("nope"); err == nil {
		t.Error("unknown backend accepted")
	}
	t.Setenv(BackendEnv, "ref")
	if b, err := SelectBackend(""); err != nil || b.Name != "ref" {
		t.Errorf("env override: %v %v", b, err)
	}
}

func ExampleContext_MatVec() {
	w := []float32{1, 2, 3, 4, 5, 6, 7, 8} // 2 rows of 4
	data := make([]byte, 32)
	_ = Quantize(F32, data, w)
	m, _ := NewMatrix(F32, 2, 4, data)
	c := NewContext(nil, nil)
	y := make([]float32, 2)
	c.MatVec(y, m, []float32{1, 0, 0, 1})
	fmt.Println(y)
	// Output: [5 13]
}
