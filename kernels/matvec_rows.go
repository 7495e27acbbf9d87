package kernels

// Decode matrix-vector range kernels: one call computes a whole range of
// rows against an activation laid out once per input vector, instead of one
// DotFunc call per row. For short rows (SmolLM2's 576 values are 18 blocks)
// the per-row work that depends only on the activation (its bias
// correction and scale conversion), the constant loads and the call
// overhead of the single-row dot cost as much as the blocks themselves.

// mvKind selects a range kernel; mvNone means loop over the DotFunc.
type mvKind uint8

const (
	mvNone  mvKind = iota
	mvQ8           // q8_0 weights
	mvQ4           // q4_0 weights
	mvQ4_24        // q4_0_24 weights (2:4 sparse)
	mvQ8_24        // q8_0_24 weights
	mvQ4BM         // q4_0_bm weights (bitmask sparse)
	mvQ8BM         // q8_0_bm weights
	mvF16          // f16 weights, against the float32 activation itself
	mvQ2K          // q2_k weights, against the q8_K activation itself
	mvTQ2          // tq2_0 weights, against the q8_K activation itself
	mvQ8A2         // q8_0 weights, avx2 backend
	mvQ4A2         // q4_0 weights, avx2 backend
	mvQ8N          // q8_0 weights, neon backend, against the q8_0 activation itself
	mvQ4N          // q4_0 weights, neon backend, against the q8_0 activation itself
	mvQ5           // q5_0 weights (the q4_0 kernel's layout)
	mvQ4K          // q4_K weights, against the q8_K activation itself
	mvQ5K          // q5_K weights, against the q8_K activation itself
	mvQ6K          // q6_K weights, against the q8_K activation itself
	mvQ4KA2        // q4_K weights, avx2 backend, against the q8_K activation itself
	mvQ5KA2        // q5_K weights, avx2 backend, likewise
	mvQ6KA2        // q6_K weights, avx2 backend, likewise
	mvQ5A2         // q5_0 weights, avx2 backend (the q4_0 kernel's layout)
	mvQ5N          // q5_0 weights, neon backend, against the q8_0 activation itself
	mvQ4KN         // q4_K weights, neon backend, against the q8_K activation itself
	mvQ5KN         // q5_K weights, neon backend, likewise
	mvQ6KN         // q6_K weights, neon backend, likewise
)

// prepQ8 reports whether kind reads the q8_0 activation laid out in mvPrep
// (mvRows); the others read the activation row as the format's dot does
// (mvRowsAct).
func (k mvKind) prepQ8() bool {
	switch k {
	case mvNone, mvF16, mvQ2K, mvTQ2, mvQ8N, mvQ4N, mvQ5N, mvQ4K, mvQ5K, mvQ6K, mvQ4KA2, mvQ5KA2, mvQ6KA2,
		mvQ4KN, mvQ5KN, mvQ6KN:
		return false
	}
	return true
}

// exactDot reports whether kind's rows equal its backend's row dot bit for
// bit (so MatVec equals a MatMul that runs row dots): every range kernel
// but q5_0's, which sum a row in another order than the q5_0 row dots (one
// block per register there) and stay within the float bound.
func (k mvKind) exactDot() bool { return k != mvQ5 && k != mvQ5A2 && k != mvQ5N }

// sparse reports whether kind is a sparse format's range kernel, which
// reads 64-weight blocks of wsz bytes and the qs and dx of mvPrep (and,
// for bitmask blocks, c: a 64-weight block's 16 lane corrections are those
// of its two q8_0 blocks, contiguous).
func (k mvKind) sparse() (wsz int, ok bool) {
	switch k {
	case mvQ4_24, mvQ4BM:
		return 26, true
	case mvQ8_24, mvQ8BM:
		return 42, true
	}
	return 0, false
}

// mvPrep is a q8_0 activation row in the range kernels' layouts. For the
// q8_0 kernel: qs holds the values of every block without its scale, 32
// bytes per block; c per block 8 int32 lane corrections, -8 times the sums
// of its values 4i..4i+3 (the kernels bias the weights to unsigned bytes,
// by 8 for q4_0 and by 128 for q8_0, which shifts the correction left by
// 4), so each int32 lane of a block's VNNI sum starts from its exact
// correction. For the q4_0 kernel (four blocks per zmm, as the weights'
// nibbles unpack): x4 holds per quad of blocks their values 0-15 (16 bytes
// each) and then their values 16-31; c4 per block 4 corrections, those of
// lanes k and k+4 of c added. dx holds the blocks' scales as float32.
type mvPrep struct {
	qs []byte
	c  []int32
	x4 []byte
	c4 []int32
	dx []float32
}

// grow makes room for a row of nb blocks; it allocates only when the row is
// longer than any before.
func (p *mvPrep) grow(nb int) {
	if cap(p.dx) < nb {
		p.qs = make([]byte, nb*32)
		p.c = make([]int32, nb*8)
		p.x4 = make([]byte, (nb+3)/4*128)
		p.c4 = make([]int32, nb*4)
		p.dx = make([]float32, nb)
	}
}

// set lays out the nb q8_0 blocks of xq.
func (p *mvPrep) set(xq []byte, nb int) {
	qs, c, x4, c4, dx := p.qs[:nb*32], p.c[:nb*8], p.x4[:(nb+3)/4*128], p.c4[:nb*4], p.dx[:nb]
	for b := 0; b < nb; b++ {
		blk := (*[34]byte)(xq[b*34 : b*34+34])
		v := (*[32]byte)(qs[b*32 : b*32+32])
		copy(v[:], blk[2:])
		q0 := 128*(b/4) + 16*(b%4)
		copy(x4[q0:q0+16], v[:16])
		copy(x4[q0+64:q0+80], v[16:])
		for i := 0; i < 8; i++ {
			var sum int32
			for _, q := range v[4*i : 4*i+4] {
				sum += int32(int8(q))
			}
			c[b*8+i] = -8 * sum
		}
		for k := 0; k < 4; k++ {
			c4[b*4+k] = c[b*8+k] + c[b*8+4+k]
		}
		dx[b] = f16At(blk[:])
	}
}

// rows4Func is a RowsFunc for four activation rows (tokens) at once, xs
// bytes apart in x: y[t*ys+r] = Dot(n, row r, x[t*xs:]) for r < rows, t < 4.
type rows4Func func(n int, w []byte, rows int, x []byte, xs int, y []float32, ys int)

// lanesTokens is how many tokens a group of the token-lane prefill kernel
// holds (a zmm of int32; see matmul_lanes_amd64.go).
const lanesTokens = 16

// LaneTokens is the token group of the token-lane prefill kernels
// (TokenLanes).
const LaneTokens = lanesTokens
