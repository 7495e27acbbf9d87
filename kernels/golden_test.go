package kernels

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"sort"
	"testing"
)

var printGolden = flag.Bool("print-golden", false, "print the quantizer golden hashes instead of checking them")

// goldenQuant holds sha256 of Quantize's output for every format on a fixed
// seeded row. It pins the quantizers' exact bytes: a change in rounding, in
// the k-quant scale searches or in FMA contraction (the Go compiler fuses
// a*b+c on arm64 unless told not to) changes a hash. The same hashes must
// hold on every architecture (CI runs these tests under qemu for arm64).
var goldenQuant = map[string]string{
	"bf16":    "385db2ee2c2d2b25",
	"f16":     "425774edeba18415",
	"f32":     "6d5a49c90d8b1246",
	"q2_k":    "21fcbf44021cd4d9",
	"q3_k":    "12d8c450522f8b3c",
	"q4_0":    "9c0e00df10edc394",
	"q4_0_24": "e8937faeb0a04630",
	"q4_0_bm": "77149a7ede7806fc",
	"q4_1":    "2ead59ad3775da24",
	"q4_k":    "1ef89bba92421d3c",
	"q5_0":    "2f92b43e37897234",
	"q5_1":    "9c01fa8e7a2fc1fd",
	"q5_k":    "deef8179d2f2b194",
	"q6_k":    "26bc8d35e9b919e1",
	"q8_0":    "a8dddac6d333dd37",
	"q8_0_24": "8e104e244a437396",
	"q8_0_bm": "3e687e4318e75403",
	"q8_k":    "4ffcdeb0576d126f",
	"tq1_0":   "99c6a726f80b0758",
	"tq2_0":   "41e71e38e8456e58",
}

func goldenRow() []float32 {
	r := newRand(2026)
	x := make([]float32, 1024)
	for i := range x {
		x[i] = float32(r.NormFloat64())
		if i%97 == 0 {
			x[i] *= 8 // outliers exercise the scale searches
		}
		if i%61 == 0 {
			x[i] = 0
		}
	}
	return x
}

func TestQuantizeGolden(t *testing.T) {
	x := goldenRow()
	names := append(SupportedNames(), "q8_k")
	sort.Strings(names)
	for _, name := range names {
		ty, _ := ParseType(name)
		buf := make([]byte, mustRowBytes(t, ty, len(x)))
		if err := Quantize(ty, buf, x); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(buf)
		got := hex.EncodeToString(sum[:8])
		if *printGolden {
			fmt.Printf("\t%q: %q,\n", name, got)
			continue
		}
		if want, ok := goldenQuant[name]; !ok {
			t.Errorf("%s: no golden hash (run with -print-golden)", name)
		} else if got != want {
			t.Errorf("%s: quantized bytes changed: sha256 prefix %s, golden %s", name, got, want)
		}
	}
}
