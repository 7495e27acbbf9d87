package kernels

import (
	"math"
	"testing"
)

// FuzzBlocks feeds arbitrary bytes as weight blocks of every supported type:
// Dequantize and every backend's dot kernel must not panic on them (weights
// come from files), and wherever the result is finite the dot must agree
// with the dequantized float64 dot within the float bound.
func FuzzBlocks(f *testing.F) {
	f.Add(uint8(0), []byte{0x00, 0x3c, 1, 2, 3}, int64(1))
	f.Add(uint8(5), []byte{0xff, 0x7b, 0xff, 0xff}, int64(7))
	f.Add(uint8(9), make([]byte, 300), int64(3))
	names := SupportedNames()
	f.Fuzz(func(t *testing.T, which uint8, raw []byte, seed int64) {
		ty, _ := ParseType(names[int(which)%len(names)])
		bb := ty.BlockBytes()
		nb := 1 + len(raw)/bb
		if nb > 8 {
			nb = 8
		}
		w := make([]byte, nb*bb)
		for i := range w {
			if len(raw) > 0 {
				w[i] = raw[i%len(raw)] ^ byte(i/len(raw))
			}
		}
		n := nb * ty.BlockSize()
		wd := make([]float32, n)
		if err := Dequantize(ty, wd, w); err != nil {
			t.Fatal(err)
		}
		xf := randRow(newRand(uint64(seed)), n)
		at := ActivationType(ty)
		x := make([]byte, mustRowBytes(t, at, n))
		if err := Quantize(at, x, xf); err != nil {
			t.Fatal(err)
		}
		want, abs := naiveDot(t, ty, n, w, x)
		for _, b := range Backends() {
			dot := b.Dot[ty]
			if dot == nil || !b.usable() {
				continue
			}
			got := dot(n, w, x)
			if math.IsNaN(want) || math.IsInf(want, 0) || math.IsInf(abs, 0) || abs > 1e30 {
				continue // huge fp16/bf16/f32 values: only "no panic" is checked
			}
			if d := math.Abs(float64(got) - want); !(d <= floatBound(n, abs)) {
				t.Fatalf("%s %s: dot %g, dequantized %g (bound %g)", b.Name, ty, got, want, floatBound(n, abs))
			}
		}
	})
}
