package workloads

import (
	"context"
	"sort"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/kernels/kbench"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/runners"
)

// RateKey names one kernel configuration a sweep uses.
type RateKey struct {
	Type    string
	Backend string
	Threads int
}

// KernelRates is what this machine's kernels achieve for one RateKey:
// matvec (a decode step's work) in weight GB/s and matmul over a batch of
// prompt tokens (prefill's work) in GFLOP/s.
type KernelRates struct {
	MatVecGBps   float64
	MatMulGFLOPs float64 // 0 when the matmul case was skipped
	Ran          string  // backend that served the type
}

// calibShape is large enough that the timing is not all call overhead and
// divisible by every block size (32, 64, 256).
var calibShape = kbench.Shape{Cols: 2048, Rows: 2048}

const calibBatch = 16

// MeasureKernelRates times the matvec and matmul kernels for every weight
// type × backend × thread count the preset cells use (a .gguf cell keeps the
// roofline bound). It takes a fraction of a second per combination; ctx
// cancels it.
func MeasureKernelRates(ctx context.Context, cells []results.CellConfig) (map[RateKey]KernelRates, error) {
	byThreads := map[int]map[RateKey]bool{}
	for _, c := range cells {
		if runners.IsModelFile(c.Model) {
			continue
		}
		if _, err := kernels.ParseType(c.WeightType); err != nil {
			continue
		}
		k := RateKey{c.WeightType, c.Backend, c.Threads}
		if byThreads[c.Threads] == nil {
			byThreads[c.Threads] = map[RateKey]bool{}
		}
		byThreads[c.Threads][k] = true
	}
	threads := make([]int, 0, len(byThreads))
	for th := range byThreads {
		threads = append(threads, th)
	}
	sort.Ints(threads)

	out := map[RateKey]KernelRates{}
	for _, th := range threads {
		keys := make([]RateKey, 0, len(byThreads[th]))
		for k := range byThreads[th] {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].Type != keys[j].Type {
				return keys[i].Type < keys[j].Type
			}
			return keys[i].Backend < keys[j].Backend
		})
		var cases []kbench.Case
		var caseKeys []RateKey
		for _, k := range keys {
			t, _ := kernels.ParseType(k.Type)
			// Time the backend that really serves the type ("auto", or a
			// backend without a kernel for it, falls back to another).
			ran, err := servingBackend(k.Backend, t)
			if err != nil {
				continue // the cell will fail with this reason; no estimate
			}
			for _, n := range []int{1, calibBatch} {
				op := "matvec"
				if n > 1 {
					op = "matmul"
				}
				cases = append(cases, kbench.Case{Op: op, Type: t, Backend: ran, Shape: calibShape, N: n})
				caseKeys = append(caseKeys, k)
			}
		}
		res, err := kbench.Run(ctx, cases, kbench.Options{Threads: th, Reps: 3, MinTime: 50 * time.Millisecond,
			MaxOpTime: 2 * time.Second, Footprint: 64 << 20, Seed: 1}, nil)
		if err != nil {
			return out, err
		}
		for i, r := range res {
			if r.Skipped != "" {
				continue
			}
			k := caseKeys[i]
			kr := out[k]
			kr.Ran = r.Ran
			if r.N == 1 {
				kr.MatVecGBps = r.GBps()
			} else {
				kr.MatMulGFLOPs = r.GFLOPs()
			}
			out[k] = kr
		}
	}
	return out, nil
}

// servingBackend names the backend that runs type t when backend is asked
// for (as the runtime resolves it).
func servingBackend(backend string, t kernels.Type) (string, error) {
	b, err := kernels.SelectBackend(backend)
	if err != nil {
		return "", err
	}
	pool := kernels.NewPool(1)
	defer pool.Close()
	return kernels.NewContext(b, pool).BackendFor(t)
}
