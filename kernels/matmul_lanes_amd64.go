//go:build !purego

package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Token-lane prefill for q4_0 and q8_0 weights on the avx512 backend
// (matMulQ4_0LanesAVX512, matMulQ8_0LanesAVX512): the vector lanes are 16
// tokens, so each VPDPBUSD multiplies 4 bytes of one weight row,
// broadcast, with 16 tokens' 4 activation bytes. The activations of each group of 16 tokens
// are laid out once per MatMul (lanesPrep); a group that is not full is
// left to the four-token kernels.

// lanesGroupBytes is the laid-out size of one group over nb blocks of
// weight type t (lanesLayout): per q8_0/q4_0 block 8 groups of 4 bytes x
// 16 tokens, 16 int32 -bias Σx and 16 float32 dx; per q4_K/q6_K
// super-block 64 such groups, the sub-block sums and 16 float32 dx.
func lanesGroupBytes(t Type, nb int) int {
	x, sums := lanesLayout(t)
	return nb * (x + sums + 64)
}

// lanesLayout is the bytes a block takes in a group's layout: its
// activation groups, then its sums (int32 per token: q8_0/q4_0 one a
// block, q4_K one a 32-value sub-block, q6_K one a 16-value sub-block);
// its 16 float32 scales follow.
func lanesLayout(t Type) (x, sums int) {
	switch t {
	case Q4_K, Q5_K:
		return 4096, 512
	case Q6_K:
		return 4096, 1024
	}
	return 512, 64
}

// lanesBlocks is how many blocks (q4_K: super-blocks) a row of cols values
// has.
func lanesBlocks(t Type, cols int) int {
	if t == Q4_K || t == Q5_K || t == Q6_K {
		return cols / 256
	}
	return cols / 32
}

// lanesOK tells whether MatMul of weight type t on backend runs the
// token-lane kernel for its whole groups of 16 tokens.
func lanesOK(backend string, t Type) bool {
	if backend != avx512Backend.Name || !haveAVX512VNNI {
		return false
	}
	switch t {
	case Q8_0, Q4_K, Q5_K, Q6_K:
		return true
	}
	return t == Q4_0 && haveGFNI
}

// lanesBias is the offset the token-lane kernel adds to type t's weights
// to make them unsigned (VPDPBUSD's first operand): q4_0's nibbles are its
// values + 8, q8_0's bytes get + 128.
func lanesBias(t Type) int32 {
	if t == Q4_0 {
		return 8
	}
	return 128
}

// lanesPrep lays out tokens [16g, 16g+16) of the q8_0 activation rows in
// xb (xr bytes each, nb blocks) for matMulQ4_0LanesAVX512 into dst
// (lanesGroupBytes(nb)): xt (nb*512 bytes: block b's 4-byte group k of
// token t at 512b + 64k + 4t), then -bias Σx per block and token (int32,
// undoing the weights' offset, lanesBias), then each block's scale per
// token (float32).
func lanesPrep(dst, xb []byte, xr, nb, g int, bias int32) {
	xt := dst[:nb*512]
	negb := dst[nb*512 : nb*576]
	dx := dst[nb*576 : nb*640]
	for t := range lanesTokens {
		row := xb[(lanesTokens*g+t)*xr:]
		for b := range nb {
			blk := row[34*b : 34*b+34]
			var sum int32
			for k := range 8 {
				copy(xt[512*b+64*k+4*t:512*b+64*k+4*t+4], blk[2+4*k:6+4*k])
			}
			for _, q := range blk[2:34] {
				sum += int32(int8(q))
			}
			binary.LittleEndian.PutUint32(negb[64*b+4*t:], uint32(-bias*sum))
			binary.LittleEndian.PutUint32(dx[64*b+4*t:], math.Float32bits(f16Table[uint16(blk[0])|uint16(blk[1])<<8]))
		}
	}
}

// lanesPrepK is lanesPrep for q8_K activation rows (292-byte blocks of
// 256: d float32, 256 int8, 16 int16 sums of 16) and the q4_K, q5_K and
// q6_K kernels: xt (block b's 4-byte group k of token t at 4096b + 64k + 4t),
// then the sub-block sums per token (int32: q4_K/q5_K's 32-value sub-blocks,
// two q8_K sums each, 512 bytes a block; with per16, q6_K's 16-value ones,
// q8_K's sums as they are, 1024 bytes), then the block scale per token
// (float32).
func lanesPrepK(dst, xb []byte, xr, nb, g int, per16 bool) {
	_, sb := lanesLayout(Q4_K)
	if per16 {
		_, sb = lanesLayout(Q6_K)
	}
	xt := dst[:nb*4096]
	sums := dst[nb*4096 : nb*(4096+sb)]
	dx := dst[nb*(4096+sb) : nb*(4096+sb+64)]
	for t := range lanesTokens {
		row := xb[(lanesTokens*g+t)*xr:]
		for b := range nb {
			blk := row[292*b : 292*b+292]
			for k := range 64 {
				o := 4096*b + 64*k + 4*t
				copy(xt[o:o+4], blk[4+4*k:8+4*k])
			}
			for j := range 16 {
				sum := int32(int16(binary.LittleEndian.Uint16(blk[260+2*j:])))
				if per16 {
					binary.LittleEndian.PutUint32(sums[sb*b+64*j+4*t:], uint32(sum))
					continue
				}
				o := sb*b + 64*(j/2) + 4*t
				prev := int32(0)
				if j%2 == 1 {
					prev = int32(binary.LittleEndian.Uint32(sums[o:]))
				}
				binary.LittleEndian.PutUint32(sums[o:], uint32(prev+sum))
			}
			copy(dx[64*b+4*t:64*b+4*t+4], blk[0:4])
		}
	}
}

// lanesRows computes rows [r0,r1) of y = W·x (weights of type t) for token
// group g (tokens 16g..16g+15, laid out at lx) into y (row-major:
// y[t*rows+r]).
func lanesRows(w []byte, rb, nb, rows, r0, r1 int, lx []byte, g int, y []float32, t Type) {
	var buf [64 * lanesTokens]float32
	xb, sb := lanesLayout(t)
	xt := lx[:nb*xb]
	sums := lx[nb*xb : nb*(xb+sb)]
	dx := lx[nb*(xb+sb) : nb*(xb+sb+64)]
	for r := r0; r < r1; r += 64 {
		m := min(64, r1-r)
		sp, dxp := (*int32)(unsafe.Pointer(&sums[0])), (*float32)(unsafe.Pointer(&dx[0]))
		switch t {
		case Q8_0:
			matMulQ8_0LanesAVX512(&w[r*rb], rb, nb, m, &xt[0], sp, dxp, &buf[0])
		case Q4_K:
			matMulQ4_KLanesAVX512(&w[r*rb], rb, nb, m, &xt[0], sp, dxp, &buf[0])
		case Q5_K:
			matMulQ5_KLanesAVX512(&w[r*rb], rb, nb, m, &xt[0], sp, dxp, &buf[0])
		case Q6_K:
			matMulQ6_KLanesAVX512(&w[r*rb], rb, nb, m, &xt[0], sp, dxp, &buf[0])
		default:
			matMulQ4_0LanesAVX512(&w[r*rb], rb, nb, m, &xt[0], sp, dxp, &buf[0])
		}
		for i := range m {
			for k := range lanesTokens {
				y[(lanesTokens*g+k)*rows+r+i] = buf[lanesTokens*i+k]
			}
		}
	}
}

// initLanes builds the pool loop of lanesPrepRange once (NewContext), so
// that a MatMul allocates nothing.
func (c *Context) initLanes() { c.lanesPrepFn = c.lanesPrepRange }

// lanesSetup lays out the whole 16-token groups of MatMul's n quantized
// activation rows (c.xb) when its weights run the token-lane kernel, and
// returns how many groups there are (0: the kernel does not apply).
func (c *Context) lanesSetup(w Matrix, n int) int {
	if n < lanesTokens || !lanesOK(c.b.Name, w.Type) {
		return 0
	}
	groups, nb := n/lanesTokens, lanesBlocks(w.Type, w.Cols)
	gb := lanesGroupBytes(w.Type, nb)
	if cap(c.lanesBuf) < groups*gb {
		c.lanesBuf = make([]byte, groups*gb)
	}
	c.lanesBuf = c.lanesBuf[:groups*gb]
	c.lanesNB = nb
	if groups == 1 || len(c.lanesBuf) < smallWork {
		c.lanesPrepRange(0, groups)
	} else {
		c.p.For(groups, c.lanesPrepFn)
	}
	return groups
}

// lanesPrepRange lays out token groups [lo,hi) (lanesPrep).
func (c *Context) lanesPrepRange(lo, hi int) {
	gb := lanesGroupBytes(c.w.Type, c.lanesNB)
	for g := lo; g < hi; g++ {
		if t := c.w.Type; t == Q4_K || t == Q5_K || t == Q6_K {
			lanesPrepK(c.lanesBuf[g*gb:(g+1)*gb], c.xb, c.xRow, c.lanesNB, g, t == Q6_K)
		} else {
			lanesPrep(c.lanesBuf[g*gb:(g+1)*gb], c.xb, c.xRow, c.lanesNB, g, lanesBias(c.w.Type))
		}
	}
}

// lanesRun computes weight rows [r0,r1) for token group g of the MatMul in
// flight.
func (c *Context) lanesRun(g, r0, r1 int) {
	rows := c.w.Rows
	rb := len(c.w.Data) / rows
	gb := lanesGroupBytes(c.w.Type, c.lanesNB)
	w := need(c.w.Data, rows*rb)
	// A slice expression, not need: need reads the last element, which
	// another thread's tile may be writing.
	y := c.y[:(lanesTokens*(g+1))*rows]
	lanesRows(w, rb, c.lanesNB, rows, r0, r1, c.lanesBuf[g*gb:(g+1)*gb], g, y, c.w.Type)
}
