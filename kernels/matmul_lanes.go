//go:build (amd64 || arm64) && !purego

package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// Token-lane prefill: for the weight types a backend has a token-lane
// kernel for (lanesFormats, per architecture), MatMul lays the activations
// of each whole group of 16 tokens out once (lanesPrep, lanesPrepK) and the
// kernel multiplies 4 bytes of one weight row, broadcast, with 16 tokens'
// 4 activation bytes at once, so a block's weights are unpacked once for
// 16 tokens and no per-token horizontal sum is needed. A group that is not
// full is left to the four-token and row kernels.

// lanesLayout is what the layout and the loops need to know of a weight
// type.
type lanesLayout struct {
	blockValues int // values a block (k-quants: a super-block) holds
	// A block's share of a group's layout: its activation groups (4 bytes
	// x 16 tokens each) and its sums (int32 per token: q8_0/q4_0 one a
	// block, q4_K/q5_K one a 32-value sub-block, q6_K, q3_K and q2_K one a
	// 16-value sub-block); its float32 scales follow (dxBytes).
	xBytes, sumBytes int
	kquant           bool  // q8_K activations, laid out by lanesPrepK
	bias             int32 // q8_0/q4_0/q5_0: the weights' unsigned offset (lanesPrep)
	// span is how many q8_0 activation blocks one weight block covers (0
	// means 1): 2 for the sparse formats' 64-weight blocks, whose share of
	// the layout is then two q8_0 blocks' (activation groups, sums and
	// scales each twice as long).
	span int
	// float: f32/f16/bf16 weights against the float32 activations
	// transposed (lanesPrepF: per column the 16 tokens' values), in chunks
	// of 16 columns; no sums, no scales.
	float bool
}

// The layouts of the types that can have token-lane kernels.
var (
	lanesQ8 = lanesLayout{blockValues: 32, xBytes: 512, sumBytes: 64, bias: 128}
	lanesQ4 = lanesLayout{blockValues: 32, xBytes: 512, sumBytes: 64, bias: 8}
	lanesQ5 = lanesLayout{blockValues: 32, xBytes: 512, sumBytes: 64, bias: 16}
	// q4_1/q5_1: unsigned codes with a minimum; the sums are +Σx.
	lanesQ41 = lanesLayout{blockValues: 32, xBytes: 512, sumBytes: 64, bias: -1}
	lanesK   = lanesLayout{blockValues: 256, xBytes: 4096, sumBytes: 512, kquant: true}
	lanesK6  = lanesLayout{blockValues: 256, xBytes: 4096, sumBytes: 1024, kquant: true}
	// The sparse formats (2:4 and bitmask): q4_0 or q8_0 kept values,
	// 64-weight blocks expanded over the dense layout.
	lanesQ4BM = lanesLayout{blockValues: 64, xBytes: 1024, sumBytes: 128, bias: 8, span: 2}
	lanesQ8BM = lanesLayout{blockValues: 64, xBytes: 1024, sumBytes: 128, bias: 128, span: 2}
	lanesF    = lanesLayout{blockValues: 16, xBytes: 1024, float: true}
)

// actBlocks is how many q8_0 activation blocks one weight block covers.
func (f lanesLayout) actBlocks() int { return max(1, f.span) }

// dxBytes is a block's share of the layout's scales.
func (f lanesLayout) dxBytes() int {
	if f.float {
		return 0
	}
	return 64 * f.actBlocks()
}

// lanesKernel sets y[t*ys+r] to the dot product of weight row r (rb bytes
// apart, nb blocks) with token t of the group laid out at xt, xs, dx, for
// r < rows, t < 16.
type lanesKernel func(w *byte, rb int, nb int, rows int, xt *byte, xs *int32, dx *float32, y *float32, ys int)

// groupBytes is the laid-out size of one 16-token group over nb blocks.
func (f lanesLayout) groupBytes(nb int) int { return nb * (f.xBytes + f.sumBytes + f.dxBytes()) }

// TokenLanes reports whether MatMul of weight type t on the backend named
// runs that backend's token-lane kernel for every whole group of
// LaneTokens tokens (the avx512 backend has one for q5_K though its row
// dots fall back to avx2's, so a MatMul of a multiple of LaneTokens tokens
// runs on avx512 alone).
func TokenLanes(backend string, t Type) bool { return lanesOK(backend, t) }

// lanesOK tells whether MatMul of weight type t on backend runs the
// token-lane kernel for its whole groups of 16 tokens.
func lanesOK(backend string, t Type) bool {
	return lanesFormats[t].kernelFor(backend) != nil
}

// lanesPrep lays out tokens [16g, 16g+16) of the q8_0 activation rows in
// xb (xr bytes each, nb blocks) for the q8_0 and q4_0 kernels into dst
// (groupBytes(nb)): xt (nb*512 bytes: block b's 4-byte group k of token t
// at 512b + 64k + 4t), then -bias Σx per block and token (int32, undoing
// the weights' offset), then each block's scale per token (float32).
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
// two q8_K sums each, 512 bytes a block; with per16, q6_K's and q2_K's 16-value ones,
// q8_K's sums as they are, 1024 bytes), then the block scale per token
// (float32).
func lanesPrepK(dst, xb []byte, xr, nb, g int, per16 bool) {
	sb := lanesK.sumBytes
	if per16 {
		sb = lanesK6.sumBytes
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

// lanesPrepF lays out tokens [16g, 16g+16) of the float32 activation rows
// in xb (xr bytes each, nb chunks of 16 columns) for the float kernels:
// column k's 16 values, one per token, at 64k.
func lanesPrepF(dst, xb []byte, xr, nb, g int) {
	xt := unsafe.Slice((*float32)(unsafe.Pointer(&dst[0])), nb*16*lanesTokens)
	for t := range lanesTokens {
		row := unsafe.Slice((*float32)(unsafe.Pointer(&xb[(lanesTokens*g+t)*xr])), nb*16)
		for k, v := range row {
			xt[k*lanesTokens+t] = v
		}
	}
}

// lanesRows computes rows [r0,r1) of y = W·x (weights of format f) for
// token group g (tokens 16g..16g+15, laid out at lx) into y (row-major:
// y[t*rows+r]; the kernel scatters each row's 16 results there).
func lanesRows(w []byte, rb, nb, rows, r0, r1 int, lx []byte, g int, y []float32, f lanesFormat, kernel lanesKernel) {
	if r1 <= r0 {
		return
	}
	xt := lx[:nb*f.xBytes]
	sums := lx[nb*f.xBytes : nb*(f.xBytes+f.sumBytes)]
	dx := lx[nb*(f.xBytes+f.sumBytes) : nb*(f.xBytes+f.sumBytes+f.dxBytes())]
	w = w[r0*rb : r1*rb]
	// The kernel writes y[(16g+k)*rows + r] for k < 16, r in [r0,r1).
	y = y[lanesTokens*g*rows+r0 : (lanesTokens*g+lanesTokens-1)*rows+r1]
	if f.float { // no sums or scales
		kernel(&w[0], rb, nb, r1-r0, &xt[0], nil, nil, &y[0], rows)
		return
	}
	kernel(&w[0], rb, nb, r1-r0, &xt[0], (*int32)(unsafe.Pointer(&sums[0])), (*float32)(unsafe.Pointer(&dx[0])), &y[0], rows)
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
	f := lanesFormats[w.Type]
	if w.Cols%f.blockValues != 0 { // float rows not whole chunks of 16
		return 0
	}
	groups, nb := n/lanesTokens, w.Cols/f.blockValues
	gb := f.groupBytes(nb)
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
	f := lanesFormats[c.w.Type]
	gb := f.groupBytes(c.lanesNB)
	for g := lo; g < hi; g++ {
		if f.float {
			lanesPrepF(c.lanesBuf[g*gb:(g+1)*gb], c.xb, c.xRow, c.lanesNB, g)
		} else if f.kquant {
			lanesPrepK(c.lanesBuf[g*gb:(g+1)*gb], c.xb, c.xRow, c.lanesNB, g, f.sumBytes == lanesK6.sumBytes)
		} else {
			lanesPrep(c.lanesBuf[g*gb:(g+1)*gb], c.xb, c.xRow, c.lanesNB*f.actBlocks(), g, f.bias)
		}
	}
}

// lanesRun computes weight rows [r0,r1) for token group g of the MatMul in
// flight.
func (c *Context) lanesRun(g, r0, r1 int) {
	rows := c.w.Rows
	rb := len(c.w.Data) / rows
	f := lanesFormats[c.w.Type]
	gb := f.groupBytes(c.lanesNB)
	w := need(c.w.Data, rows*rb)
	// A slice expression, not need: need reads the last element, which
	// another thread's tile may be writing.
	y := c.y[:(lanesTokens*(g+1))*rows]
	lanesRows(w, rb, c.lanesNB, rows, r0, r1, c.lanesBuf[g*gb:(g+1)*gb], g, y, f, f.kernelFor(c.b.Name))
}
