package kernels

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestQuantF16SIMD: the SIMD f32 -> f16 conversion (where the CPU has one)
// equals FP32ToFP16 bit for bit on random bit patterns (NaNs, infinities,
// subnormals, overflow and ties included) and on every length 1..70 (the
// masked last step), and writes nothing past the values.
func TestQuantF16SIMD(t *testing.T) {
	if quantF16SIMD == nil {
		t.Skip("no SIMD f16 conversion on this CPU or build")
	}
	r := newRand(5)
	special := []float32{0, float32(math.Copysign(0, -1)), 65504, 65520, 65519.996, -65520, 1e-8, 2.98e-8, 5.96e-8, 6.1e-5,
		float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc00001), math.Float32frombits(0xff812345), 1.00048828125, 1.00146484375}
	for n := 1; n <= 70; n++ {
		for round := 0; round < 20; round++ {
			x := make([]float32, n)
			for i := range x {
				switch round % 3 {
				case 0:
					x[i] = math.Float32frombits(r.Uint32())
				case 1:
					x[i] = special[r.IntN(len(special))]
				default:
					x[i] = float32(r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-25)))
				}
			}
			got := make([]byte, 2*n+2)
			got[2*n], got[2*n+1] = 0xAB, 0xCD
			quantF16SIMD(got[:2*n], x)
			want := make([]byte, 2*n)
			quantF16Scalar(want, x)
			for i := 0; i < n; i++ {
				if g, w := binary.LittleEndian.Uint16(got[2*i:]), binary.LittleEndian.Uint16(want[2*i:]); g != w {
					t.Fatalf("n=%d x[%d]=%g (%#08x): %#04x, FP32ToFP16 gives %#04x", n, i, x[i], math.Float32bits(x[i]), g, w)
				}
			}
			if got[2*n] != 0xAB || got[2*n+1] != 0xCD {
				t.Fatalf("n=%d: wrote past the values", n)
			}
		}
	}
}

// TestAxpySIMD: the SIMD Axpy (where the CPU has one) equals the scalar
// loop bit for bit for every length 16..70 and 576, and writes nothing
// past y.
func TestAxpySIMD(t *testing.T) {
	if axpySIMD == nil {
		t.Skip("no SIMD Axpy on this CPU or build")
	}
	r := newRand(9)
	for _, n := range append(seq(16, 70), 576) {
		for _, a := range []float32{1, -0.37, 3.1e-3} {
			x, y := randRow(r, n), randRow(r, n+1)
			want := append([]float32(nil), y[:n]...)
			axpyScalar(want, a, x)
			y[n] = 42
			Axpy(y[:n], a, x)
			for i := range want {
				if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d a=%g: y[%d] = %g, scalar gives %g", n, a, i, y[i], want[i])
				}
			}
			if y[n] != 42 {
				t.Fatalf("n=%d: wrote past y", n)
			}
		}
	}
}
