package main

// matVec2BitPrefetch is how far ahead in the weight stream the 2-bit range
// kernels prefetch (the distance matVecQ8 measured best).
const matVec2BitPrefetch = 4096

// matVec2Bit emits the decode range kernel of q2_k (q2k) or tq2_0 weights
// (AVX-512 VL with GFNI, as dot2BitAVX512): rows consecutive rows of rb
// bytes, one after the other (a single sequential weight stream, as
// matVecQ8), each against the same q8_K activation. Every row runs
// dot2BitAVX512's loop unchanged (so its result is that kernel's bit for
// bit; the caller adds an odd last super-block as dotK2 does) and adds
// software prefetch of the weights matVec2BitPrefetch bytes on, and one
// call per worker instead of one per row (which also keeps the constants
// in registers across rows).
func matVec2Bit(name string, q2k bool) { dot2BitAVX512Rows(name, q2k, true) }
