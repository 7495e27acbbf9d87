package workloads

import (
	"fmt"
	"time"

	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
)

// QualityTime estimates the quality measurement a sweep adds on top of its
// cells (runners.QualityCache): tokens decode steps for every distinct
// compared model (file × KV cache × backend, once per sweep), at the
// fastest decode rate estimated for any of its cells, plus tokens steps of
// each dense reference, whose rate is that of the model's fastest cell
// scaled by the weight bytes a step reads (f32 for a preset; decode is
// memory-bound). It returns the time and the numbers of compared models
// and references; ok is false when a compared cell has no time estimate.
func QualityTime(est []Estimate, tokens int) (total time.Duration, models, refs int, ok bool) {
	if tokens <= 0 {
		return 0, 0, 0, true
	}
	fastest := map[string]Estimate{} // compared model -> its fastest cell
	refCell := map[string]Estimate{} // reference -> the fastest cell of its model
	ok = true
	for _, e := range est {
		c := e.Cell
		refKey := fmt.Sprintf("%s/%d", c.Model, c.Seed)
		if e.TimeUnknown != "" || e.DecodeStep <= 0 {
			if !runners.IsReferenceCell(c) {
				ok = false
			}
			continue
		}
		if r, seen := refCell[refKey]; !seen || e.DecodeStep < r.DecodeStep {
			refCell[refKey] = e
		}
		if runners.IsReferenceCell(c) {
			continue
		}
		key := qualityModelKey(c)
		if f, seen := fastest[key]; !seen || e.DecodeStep < f.DecodeStep {
			fastest[key] = e
		}
	}
	needRef := map[string]bool{}
	for _, e := range fastest {
		total += time.Duration(tokens) * e.DecodeStep
		needRef[fmt.Sprintf("%s/%d", e.Cell.Model, e.Cell.Seed)] = true
	}
	for key := range needRef {
		e := refCell[key]
		refBytes := e.PerTokBytes
		if !runners.IsModelFile(e.Cell.Model) {
			if sh := typedShape(shapeOf(e.Cell.Model, "f32", false).cfg, "f32"); sh.err == "" {
				refBytes = sh.perToken
			}
		}
		step := e.DecodeStep
		if e.PerTokBytes > 0 {
			step = time.Duration(float64(step) * float64(refBytes) / float64(e.PerTokBytes))
		}
		total += time.Duration(tokens) * step
	}
	return total, len(fastest), len(needRef), ok
}

// qualityModelKey names what a cell's quality depends on: its weights (the
// model, format and compression), KV cache type and backend — not its
// threads, prompt, generation or depth.
func qualityModelKey(c results.CellConfig) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%d", c.Model, c.WeightType, c.Method, c.Prune, c.Sparsity, c.KVType, c.Backend, c.Seed)
}
