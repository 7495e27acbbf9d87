package compress

import (
	"fmt"

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
	sum  *mat.SymDense // XᵀX

	// The factor of the last invCholUpper, reused by the layers that share
	// this input (q/k/v, gate/up) while no samples are added.
	cacheDamp float64
	cacheN    int
	cacheR    []float32
	cacheDead []bool
}

// NewHessian starts an empty Hessian for a layer with cols inputs.
func NewHessian(cols int) *Hessian {
	return &Hessian{cols: cols, sum: mat.NewSymDense(cols, nil)}
}

// Cols is the number of layer inputs.
func (h *Hessian) Cols() int { return h.cols }

// Samples is the number of calibration rows added.
func (h *Hessian) Samples() int { return h.n }

// Add accumulates n input rows x (n×cols, row-major).
func (h *Hessian) Add(x []float32, n int) error {
	if n <= 0 || len(x) != n*h.cols {
		return fmt.Errorf("hessian: %d values are not %d rows of %d inputs", len(x), n, h.cols)
	}
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
	h.n += n
	return nil
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
	src, stride := h.raw()
	scale := 2 / float64(h.n)
	dead = make([]bool, n)
	var mean float64
	diag := make([]float64, n)
	for i := 0; i < n; i++ {
		d := src[i*stride+i] * scale
		if d == 0 {
			dead[i] = true
			d = 1
		}
		diag[i] = d
		mean += d
	}
	mean /= float64(n)
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
