package runners

import (
	"fmt"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/results"
)

// prefillMatmulFLOPs is the number of floating-point operations (a
// multiply-add counting 2) in the weight matrix products the reference
// runtime performs for a prompt of p tokens: every layer's projections for
// every token, except that the last layer computes only the keys and values
// of the tokens before the last one (their queries, attention output and MLP
// feed nothing), and the output projection runs once, for the last token's
// logits. Attention's own products (scores and weighted values, which grow
// with the context) are not included, nor the elementwise ops: the figure
// is the dense-matmul work a compute roofline bounds.
func prefillMatmulFLOPs(c model.Config, p int) float64 {
	if p <= 0 || c.Layers <= 0 {
		return 0
	}
	H, Q, KV, F := float64(c.Hidden), float64(c.Heads*c.HeadDim), float64(c.KVHeads*c.HeadDim), float64(c.FFN)
	kv := 2 * KV * H          // keys and values
	rest := Q*H + H*Q + 3*F*H // query, attention output, gate, up, down
	layers := float64(c.Layers-1)*float64(p)*(kv+rest) + float64(p)*kv + rest
	return 2 * (layers + float64(c.Vocab)*H)
}

// prefillComputeMetrics derives, from the cell's prefill tok/s samples,
// MetricPrefillGFLOPs (prefillMatmulFLOPs per prompt token × tok/s) and
// MetricPrefillComputePct (that over the roofline's FP32 FMA peak at the
// cell's thread count, chosen as rooflineFor chooses the bandwidth
// ceiling); the percentage is unavailable, with the reason, when no peak
// was measured at that thread count.
func prefillComputeMetrics(c model.Config, promptTokens int, prefill []float64, r *device.Roofline, threads int, conf float64) []results.Metric {
	perTok := prefillMatmulFLOPs(c, promptTokens) / float64(max(promptTokens, 1))
	peak, why := fmaPeakFor(r, threads)
	return derivedShare(results.MetricPrefillGFLOPs, "GFLOP/s", results.MetricPrefillComputePct, prefill, perTok/1e9, peak, why, conf)
}

// fmaPeakFor picks the FP32 FMA peak measured at the cell's thread count.
func fmaPeakFor(r *device.Roofline, threads int) (float64, string) {
	switch {
	case r == nil:
		return 0, "no measured roofline (run `edgebench sysinfo` or drop --no-roofline)"
	case threads == 1 && r.FMAGFLOPS1 > 0:
		return r.FMAGFLOPS1, ""
	case threads == r.Threads && r.FMAGFLOPSAll > 0:
		return r.FMAGFLOPSAll, ""
	default:
		return 0, fmt.Sprintf("FMA peak was measured at 1 and %d threads, not %d", r.Threads, threads)
	}
}
