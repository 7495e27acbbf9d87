package compress

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// Hessian accumulates the layer-wise Hessian of GPTQ/SparseGPT's
// reconstruction objective ||XWᵀ − XŴᵀ||²: H = 2·XᵀX/n over the n
// calibration rows seen so far (float64; cols×cols).
type Hessian struct {
	cols int
	n    int
	sum  *mat.SymDense // XᵀX of the samples not in kept; nil until needed
	// kept holds the samples themselves while there are few (n ≤ cols/8):
	// then H is a diagonal plus a low-rank term and its factor is cheaper to
	// get from them (see lowRankFactor). Beyond that they go into sum.
	kept []float32

	// The factor of the last invCholUpper, reused by the layers that share
	// this input (q/k/v, gate/up) while no samples are added.
	cacheDamp float64
	cacheN    int
	cacheR    []float32
	cacheDead []bool
}

// NewHessian starts an empty Hessian for a layer with cols inputs.
func NewHessian(cols int) *Hessian {
	return &Hessian{cols: cols}
}

// lowRank reports whether the samples are few enough to keep: then the
// O(n²·samples) factorisation beats the dense O(n³) one.
func (h *Hessian) lowRank(samples int) bool { return samples*8 <= h.cols }

// Cols is the number of layer inputs.
func (h *Hessian) Cols() int { return h.cols }

// Samples is the number of calibration rows added.
func (h *Hessian) Samples() int { return h.n }

// Add accumulates n input rows x (n×cols, row-major).
func (h *Hessian) Add(x []float32, n int) error {
	if n <= 0 || len(x) != n*h.cols {
		return fmt.Errorf("hessian: %d values are not %d rows of %d inputs", len(x), n, h.cols)
	}
	if h.sum == nil && h.lowRank(h.n+n) {
		h.kept = append(h.kept, x...)
		h.n += n
		return nil
	}
	h.densify()
	h.accumulate(x, n)
	h.n += n
	return nil
}

// densify moves kept samples into sum (the dense path from then on).
func (h *Hessian) densify() {
	if h.sum != nil {
		return
	}
	h.sum = mat.NewSymDense(h.cols, nil)
	if len(h.kept) > 0 {
		h.accumulate(h.kept, len(h.kept)/h.cols)
		h.kept = nil
	}
	h.cacheR = nil
}

// accumulate adds XᵀX of n rows to sum.
func (h *Hessian) accumulate(x []float32, n int) {
	// A rank-k update in chunks keeps the float64 copy of x small.
	const chunk = 256
	buf := make([]float64, min(n, chunk)*h.cols)
	for r0 := 0; r0 < n; r0 += chunk {
		k := min(chunk, n-r0)
		for i, v := range x[r0*h.cols : (r0+k)*h.cols] {
			buf[i] = float64(v)
		}
		xm := mat.NewDense(k, h.cols, buf[:k*h.cols])
		h.sum.SymRankK(h.sum, 1, xm.T())
	}
}

// raw is XᵀX's upper triangle (row-major, stride).
func (h *Hessian) raw() (data []float64, stride int) {
	r := h.sum.RawSymmetric()
	return r.Data, r.Stride
}

// invCholUpper prepares H for the OBS sweep: dead inputs (H[i][i] = 0, the
// input was always zero) get H[i][i] = 1 and are reported so the caller zeroes
// their weights; damp·mean(diag H) is added to the diagonal; it returns R, the
// upper Cholesky factor of H⁻¹ (H⁻¹ = RᵀR), as float32 row-major cols×cols.
//
// R is computed without forming H⁻¹: with P the reversal permutation and
// PHP = LLᵀ, H⁻¹ = (PL⁻¹P)ᵀ(PL⁻¹P) and PL⁻¹P is upper triangular with a
// positive diagonal, so it is H⁻¹'s Cholesky factor. One Cholesky and one
// triangular inverse (2n³/3 flops) instead of Cholesky, inverse and a second
// Cholesky (4n³/3). If the factorisation fails the damping is raised tenfold,
// up to three times.
func (h *Hessian) invCholUpper(damp float64) (R []float32, dead []bool, err error) {
	if h.cacheR != nil && h.cacheDamp == damp && h.cacheN == h.n {
		return h.cacheR, h.cacheDead, nil
	}
	R, dead, err = h.factor(damp)
	if err == nil {
		h.cacheDamp, h.cacheN, h.cacheR, h.cacheDead = damp, h.n, R, dead
	}
	return R, dead, err
}

func (h *Hessian) factor(damp float64) (R []float32, dead []bool, err error) {
	if h.n == 0 {
		return nil, nil, fmt.Errorf("hessian: no calibration samples")
	}
	n := h.cols
	scale := 2 / float64(h.n)
	dead = make([]bool, n)
	var mean float64
	diag := make([]float64, n)
	if h.sum == nil {
		for i := 0; i < len(h.kept); i += n {
			for c, v := range h.kept[i : i+n] {
				diag[c] += float64(v) * float64(v) * scale
			}
		}
	} else {
		src, stride := h.raw()
		for i := range diag {
			diag[i] = src[i*stride+i] * scale
		}
	}
	for i := 0; i < n; i++ {
		d := diag[i]
		if d == 0 {
			dead[i] = true
			d = 1
		}
		diag[i] = d
		mean += d
	}
	mean /= float64(n)
	if h.sum == nil {
		return h.lowRankFactor(diag, dead, damp*mean)
	}
	src, stride := h.raw()
	a := make([]float64, n*n)
	for try := 0; try < 4; try++ {
		// A = P·H·P (upper triangle used by Cholesky).
		for i := 0; i < n; i++ {
			si := n - 1 - i
			for j := i; j < n; j++ {
				sj := n - 1 - j
				var v float64
				if si == sj {
					v = diag[si] + damp*mean
				} else if !dead[si] && !dead[sj] {
					// Upper storage of H: H[min][max].
					v = src[sj*stride+si] * scale
				}
				a[i*n+j] = v
			}
		}
		// lapack64 (under gonum's mat.Cholesky) in place: mat's Factorize
		// and InverseTri also estimate condition numbers, which at n = 8192
		// cost as much as the factorisation.
		_, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: n, Data: a, Uplo: blas.Upper})
		if !ok || !invUpper(a, n, n, make([]float64, (n/2+1)*(n/2+1))) {
			damp *= 10
			continue
		}
		// Potrf gives A = UᵀU, i.e. L = Uᵀ and L⁻¹ = U⁻ᵀ; a now holds U⁻¹.
		R = make([]float32, n*n)
		// R[i][j] = L⁻¹[n−1−i][n−1−j] = U⁻¹[n−1−j][n−1−i], j ≥ i.
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				R[i*n+j] = float32(a[(n-1-j)*n+(n-1-i)])
			}
		}
		return R, dead, nil
	}
	return nil, nil, fmt.Errorf("hessian: %d×%d not positive definite even with damping %g", n, n, damp/10)
}

// invUpper inverts the upper triangular n×n matrix at a (row stride
// stride) in place; the strictly lower part must be zero and stays so. It
// recurses on [[A B] [0 C]]⁻¹ = [[A⁻¹ −A⁻¹·B·C⁻¹] [0 C⁻¹]] with the two
// products as general matrix multiplications: twice Dtrtri's flops, but
// gonum's Dgemm runs in parallel and far faster than the serial Dtrmm
// Dtrtri is built on (5× at n = 1024). tmp holds (n/2+1)² values.
func invUpper(a []float64, n, stride int, tmp []float64) bool {
	if n <= 64 {
		return lapack64.Trtri(blas64.Triangular{Uplo: blas.Upper, Diag: blas.NonUnit, N: n, Stride: stride, Data: a})
	}
	n1 := n / 2
	n2 := n - n1
	if !invUpper(a, n1, stride, tmp) || !invUpper(a[n1*stride+n1:], n2, stride, tmp) {
		return false
	}
	A := blas64.General{Rows: n1, Cols: n1, Stride: stride, Data: a}
	B := blas64.General{Rows: n1, Cols: n2, Stride: stride, Data: a[n1:]}
	C := blas64.General{Rows: n2, Cols: n2, Stride: stride, Data: a[n1*stride+n1:]}
	T := blas64.General{Rows: n1, Cols: n2, Stride: n2, Data: tmp[:n1*n2]}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, B, C, 0, T)  // T = B·C⁻¹
	blas64.Gemm(blas.NoTrans, blas.NoTrans, -1, A, T, 0, B) // B = −A⁻¹·T
	return true
}

// lowRankFactor is factor for few samples (m ≪ n): H = D + XsᵀXs with D
// diagonal (dampening, and 1 for dead inputs) and Xs = √(2/m)·X, so by
// Woodbury H⁻¹ = D⁻¹ − WWᵀ with W = D⁻¹XsᵀC⁻ᵀ, where CCᵀ = I + XsD⁻¹Xsᵀ
// (m×m). H⁻¹'s Cholesky factor then follows from D^(-1/2) by m rank-one
// downdates, all m applied to each column in one pass: O(m·n²) instead of
// O(n³), exact (no approximation). Every intermediate D⁻¹ − Σ_{j≤k} w_j w_jᵀ
// is positive definite (it is H⁻¹ plus the remaining positive terms), so the
// downdates cannot break down. diag is H's diagonal before dampening.
func (h *Hessian) lowRankFactor(diag []float64, dead []bool, lambda float64) ([]float32, []bool, error) {
	n, m := h.cols, h.n
	dinv := make([]float64, n)
	for i := range dinv {
		d := lambda
		if dead[i] {
			d += 1
		}
		dinv[i] = 1 / d
	}
	sc := 2 / float64(m)
	// Y = Xs·D⁻¹ (m×n); M = I + Xs·D⁻¹·Xsᵀ = I + sc·X·D⁻¹·Xᵀ.
	y := make([]float64, m*n)
	for j := 0; j < m; j++ {
		for i, v := range h.kept[j*n : (j+1)*n] {
			y[j*n+i] = math.Sqrt(sc) * float64(v) * dinv[i]
		}
	}
	mm := make([]float64, m*m)
	for a := 0; a < m; a++ {
		for b := a; b < m; b++ {
			var s float64
			xa := h.kept[a*n : (a+1)*n]
			for i, v := range h.kept[b*n : (b+1)*n] {
				s += float64(xa[i]) * float64(v) * dinv[i]
			}
			mm[a*m+b] = sc * s
		}
		mm[a*m+a]++
	}
	// M = UᵀU (upper U = Cᵀ); Wᵀ = C⁻¹·Y = U⁻ᵀ·Y.
	u, ok := lapack64.Potrf(blas64.Symmetric{N: m, Stride: m, Data: mm, Uplo: blas.Upper})
	if !ok {
		return nil, nil, fmt.Errorf("hessian: low-rank factor: I + XD⁻¹Xᵀ not positive definite")
	}
	blas64.Trsm(blas.Left, blas.Trans, 1, u, blas64.General{Rows: m, Cols: n, Stride: n, Data: y})
	// x[i*m+j] = W[i][j], i-major so each row's m values are contiguous.
	x := make([]float64, n*m)
	for j := 0; j < m; j++ {
		for i := 0; i < n; i++ {
			x[i*m+j] = y[j*n+i]
		}
	}
	y = nil
	// R = Lᵀ: row k of R is column k of L, contiguous.
	R := make([]float64, n*n)
	for i := range dinv {
		R[i*n+i] = math.Sqrt(dinv[i])
	}
	cs := make([]float64, 3*m) // c_j, 1/c_j, s_j
	for k := 0; k < n; k++ {
		lkk := R[k*n+k]
		xk := x[k*m : (k+1)*m]
		for j, v := range xk {
			r2 := lkk*lkk - v*v
			if !(r2 > 0) {
				return nil, nil, fmt.Errorf("hessian: low-rank factor: downdate lost positive definiteness at input %d", k)
			}
			r := math.Sqrt(r2)
			cs[3*j], cs[3*j+1], cs[3*j+2] = r/lkk, lkk/r, v/lkk
			lkk = r
		}
		R[k*n+k] = lkk
		row := R[k*n : (k+1)*n]
		parallelRows(n-k-1, func(lo, hi int) {
			for i := k + 1 + lo; i < k+1+hi; i++ {
				l := row[i]
				xi := x[i*m : (i+1)*m]
				for j := range xi {
					c, ic, s := cs[3*j], cs[3*j+1], cs[3*j+2]
					l = (l - s*xi[j]) * ic
					xi[j] = c*xi[j] - s*l
				}
				row[i] = l
			}
		})
	}
	out := make([]float32, n*n)
	for i, v := range R {
		out[i] = float32(v)
	}
	return out, dead, nil
}
