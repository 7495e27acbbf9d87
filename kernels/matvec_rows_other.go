//go:build purego || !(amd64 || arm64)

package kernels

// mvRowsKind: no range kernels outside amd64 assembly.
func mvRowsKind(string, Type) mvKind { return mvNone }

func mvRows(mvKind, int, []byte, int, int, *mvPrep, []float32) {
	panic("kernels: no matvec range kernel on this platform")
}

func mvRowsAct(mvKind, int, []byte, int, int, []byte, []float32) {
	panic("kernels: no matvec range kernel on this platform")
}

// actQuant: the formats' own quantizers only.
func actQuant(string, Type) func(dst []byte, src []float32) { return nil }

// siluMulFor: SiLUMul for every backend.
func siluMulFor(string) func(out, gate, up []float32) { return nil }

// dotRowsFor: DotF32 per row everywhere.
func dotRowsFor(string) func(y, w []float32, stride int, x []float32) { return nil }

// actQuantPrep: quantQ8_0 and mvPrep.set separately everywhere.
func actQuantPrep(string) func(dst []byte, p *mvPrep, src []float32) { return nil }

// dotRowsF16For: the F16 DotFunc per row everywhere.
func dotRowsF16For(string) func(y []float32, w []byte, stride int, x []float32) { return nil }

// dotRowsGroupFor: DotRowsF32/F16 per vector everywhere.
func dotRowsGroupFor(string) (dotRowsGroupFn, dotRowsGroupFn) { return nil, nil }
