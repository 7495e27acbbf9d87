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
	mvNone mvKind = iota
	mvQ8          // q8_0 weights
	mvQ4          // q4_0 weights
)

// mvPrep is a q8_0 activation row in the range kernels' layout: qs holds
// the values of every block without its scale, 32 bytes per block; dc holds
// per group of 8 blocks the 8 scales dx and then the 8 products dx*Σx (Σx
// the block's integer value sum), so the kernels can remove the bias they
// add to the weights (8 for q4_0, 128 for q8_0) with one float multiply-add
// per block.
type mvPrep struct {
	qs []byte
	dc []float32
}

// grow makes room for a row of nb blocks; it allocates only when the row is
// longer than any before.
func (p *mvPrep) grow(nb int) {
	if cap(p.qs) < nb*32 {
		p.qs = make([]byte, nb*32)
	}
	if g := (nb + 7) / 8 * 16; cap(p.dc) < g {
		p.dc = make([]float32, g)
	}
}

// set lays out the nb q8_0 blocks of xq.
func (p *mvPrep) set(xq []byte, nb int) {
	qs, dc := p.qs[:nb*32], p.dc[:(nb+7)/8*16]
	for b := 0; b < nb; b++ {
		blk := (*[34]byte)(xq[b*34 : b*34+34])
		v := (*[32]byte)(qs[b*32 : b*32+32])
		var sum int32
		for j := range v {
			v[j] = blk[2+j]
			sum += int32(int8(blk[2+j]))
		}
		dx := f16At(blk[:])
		g, i := b/8, b%8
		dc[16*g+i] = dx
		dc[16*g+8+i] = dx * float32(sum)
	}
}
