//go:build !purego

package kernels

// quantDot512 runs the 8-block-group kernel over the first nb&^7 blocks, the
// two-block kernel over the next even count, and Go over a last odd block.
func quantDot512(n int, w, x []byte, wsz int, g8, pair func(w, x *byte, nb int) float32, block func(wb, xb []byte) int32) float32 {
	nb := n / 32
	if nb <= 0 {
		return 0
	}
	w = need(w, nb*wsz)
	x = need(x, nb*34)
	var s float32
	m := nb &^ 7
	if m > 0 {
		s = g8(&w[0], &x[0], m)
	}
	if p := (nb - m) &^ 1; p > 0 {
		s += pair(&w[m*wsz], &x[m*34], p)
		m += p
	}
	if m < nb {
		wb, xb := w[m*wsz:], x[m*34:]
		s += float32(block(wb, xb)) * blockScale(wb, xb)
	}
	return s
}

func dotQ4_KAVX512Go(n int, w, x []byte) float32 { return dotQ4K(n, w, x, dotQ4_KAVX512) }
