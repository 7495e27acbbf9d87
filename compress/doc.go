// Package compress quantizes and prunes the linear layers of a model and
// writes the result as a GGUF file edgebench runs.
//
// Layer level (a weight matrix W of rows = outputs × cols = inputs, float32
// row-major in ggml order, and calibration inputs X of n rows):
//
//   - RTN: kernels.Quantize per ggml block (the reference quantizers);
//   - GPTQ: H = 2XᵀX/n, λ·mean(diag H) dampening, the upper Cholesky factor
//     of H⁻¹ (gonum LAPACK; with few samples, m ≤ cols/8, exactly by Woodbury
//     and rank-one downdates in O(m·cols²)), columns swept in blocks of 128
//     with lazy batch updates (one SGEMM per block);
//     each ggml block's scales are fitted by the format's own quantizer on the
//     error-updated weights when the sweep reaches the block, then every weight
//     of the block is rounded on that fixed grid (see codec.go);
//   - AWQ: per-input scales s = mean|x|^α, α searched on [0,1] to minimise the
//     layer output error, 1/s folded into the preceding RMSNorm or linear;
//   - magnitude, Wanda and SparseGPT pruning, unstructured or N:M (keep N of
//     every M), SparseGPT optionally quantizing in the same sweep.
//
// OutputError measures ||XWᵀ − XŴᵀ||²/||XWᵀ||², the quantity the methods are
// compared on. Model applies a method to every block matrix of a Llama-family
// GGUF, collecting calibration inputs with its own float32 forward pass
// (forward.go), and reports each matrix's error against a baseline.
package compress
