package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveChecksum is the StreamRead checksum written the slow obvious way.
func naiveChecksum(buf []byte) uint64 {
	var s uint64
	for i := 0; i < len(buf); i += 8 {
		var w [8]byte
		copy(w[:], buf[i:])
		s += binary.LittleEndian.Uint64(w[:])
	}
	return s
}

// forEachRoofline runs f with every roofline implementation this CPU has
// active, restoring the default afterwards.
func forEachRoofline(t *testing.T, f func(t *testing.T, isa string)) {
	t.Cleanup(func() { _ = SetRooflineISA("") })
	for _, isa := range RooflineISAs() {
		if err := SetRooflineISA(isa); err != nil {
			t.Fatal(err)
		}
		t.Run(isa, func(t *testing.T) { f(t, isa) })
	}
}

func TestStreamRead(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const guard = 64
	big := make([]byte, 1<<20+guard+300)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	forEachRoofline(t, func(t *testing.T, isa string) {
		// Every length 0..300 at several misalignments; the bytes around the
		// slice are random, so reading past the end would change the sum.
		for off := 0; off < 3; off++ {
			for n := 0; n <= 300; n++ {
				buf := big[guard+off : guard+off+n]
				if got, want := StreamRead(buf), naiveChecksum(buf); got != want {
					t.Fatalf("%s: StreamRead(len %d, offset %d) = %#x, want %#x", isa, n, off, got, want)
				}
			}
		}
		buf := big[guard : guard+1<<20+77]
		if got, want := StreamRead(buf), naiveChecksum(buf); got != want {
			t.Fatalf("%s: StreamRead(len %d) = %#x, want %#x", isa, len(buf), got, want)
		}
		// Interleaved streams: lengths around whole spans of every stream
		// (the SIMD loops read 256-byte spans), odd stream counts too.
		for _, k := range append(ReadStreamCounts(), 3, 0) {
			m := max(k, 1)
			for _, n := range []int{0, 7, 8 * m, 256*m - 1, 256 * m, 256*m + 8, 2*256*m + 13, 1<<20 + 77} {
				for off := 0; off < 2; off++ {
					buf := big[guard+off : guard+off+n]
					if got, want := StreamReadStreams(buf, k), naiveChecksum(buf); got != want {
						t.Fatalf("%s: StreamReadStreams(len %d, %d streams, offset %d) = %#x, want %#x", isa, n, k, off, got, want)
					}
				}
			}
		}
	})
}

func TestFMAPeak(t *testing.T) {
	forEachRoofline(t, func(t *testing.T, isa string) {
		lanes := FMAFlopsPerIter() / 2
		if lanes < 8 {
			t.Fatalf("%s: FMAFlopsPerIter() = %d, want at least 16", isa, FMAFlopsPerIter())
		}
		for _, iters := range []int{-1, 0, 1, 2, 3, 7, 30, 1000} {
			v := float32(0)
			for i := 0; i < iters; i++ {
				v = v*0.5 + 1
			}
			want := float64(v) * float64(lanes)
			got := FMAPeak(iters)
			if math.IsNaN(float64(got)) || math.IsInf(float64(got), 0) || math.Abs(float64(got)-want) > 1e-6*want {
				t.Fatalf("%s: FMAPeak(%d) = %v, want %v (%d lanes)", isa, iters, got, want, lanes)
			}
		}
	})
	if err := SetRooflineISA("auto"); err != nil {
		t.Fatal(err)
	}
	if got := RooflineISA(); got != RooflineISAs()[0] {
		t.Fatalf("RooflineISA() = %q after reset, want %q", got, RooflineISAs()[0])
	}
	if err := SetRooflineISA("mmx"); err == nil {
		t.Fatal("SetRooflineISA(mmx) succeeded")
	}
}

func BenchmarkStreamRead(b *testing.B) {
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	for _, isa := range RooflineISAs() {
		b.Run(isa, func(b *testing.B) {
			if err := SetRooflineISA(isa); err != nil {
				b.Fatal(err)
			}
			defer SetRooflineISA("")
			for _, k := range ReadStreamCounts() {
				b.Run(fmt.Sprintf("streams=%d", k), func(b *testing.B) {
					b.SetBytes(int64(len(buf)))
					for b.Loop() {
						StreamReadStreams(buf, k)
					}
				})
			}
		})
	}
}

func BenchmarkFMAPeak(b *testing.B) {
	const iters = 1 << 16
	for _, isa := range RooflineISAs() {
		b.Run(isa, func(b *testing.B) {
			if err := SetRooflineISA(isa); err != nil {
				b.Fatal(err)
			}
			defer SetRooflineISA("")
			for b.Loop() {
				FMAPeak(iters)
			}
			b.ReportMetric(float64(iters)*float64(FMAFlopsPerIter())*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
