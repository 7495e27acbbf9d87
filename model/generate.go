package model

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model/gguf"
)

// GeneratorDescription names the weight distribution Generate draws from
// (GeneratorVersion numbers it); both are written to every generated file.
const GeneratorDescription = "pcg(seed, fnv64a(name)+row) normal; matrices std 1/sqrt(fan_in), norms 1+0.05n, biases 0.02n"

// chunkValues is how many values Generate materialises at once: ~4 MB of
// float32, so even Llama-3.1-8B's 525M-value embedding streams through a
// small buffer.
const chunkValues = 1 << 20

// Generate writes a GGUF file of shape c with deterministic synthetic
// weights, loadable by llama.cpp (see Config.Metadata and Config.Tensors).
//
// The distribution is chosen so that a forward pass is numerically
// ordinary (logits neither vanish nor saturate):
//   - weight matrices and token_embd: normal, mean 0, std 1/sqrt(fan_in)
//     where fan_in = Dims[0] (the input dimension), so each projection
//     roughly preserves the RMS of its input; with tied embeddings the
//     logits of an RMS-normalised state have std ≈ 1;
//   - RMSNorm weights: 1 + 0.05·N(0,1);
//   - q/k/v biases (qwen2): 0.02·N(0,1);
//   - rope_freqs.weight (llama3 scaling): the exact factors, not random.
//
// Every row of every tensor has its own PCG stream seeded by (seed,
// fnv64a(tensor name) mixed with the row index), so the values do not depend
// on the weight type, on tensor order or on how many goroutines generate
// them: the same seed gives byte-identical files, and an f32 file and a q8_0
// file of the same seed hold the same weights before quantisation (which is
// what quality comparisons between types need).
//
// Matrices are quantised with kernels.Quantize as they stream out; memory
// use is a few chunk buffers regardless of model size. progress, if not nil,
// is called after each chunk with tensor bytes written so far and the total.
// Nothing is left at path unless Generate succeeds (an existing file there
// is replaced only on success).
func Generate(path string, c Config, t kernels.Type, seed uint64, progress func(done, total int64)) error {
	return GenerateContext(context.Background(), path, c, t, seed, progress)
}

// GenerateContext is Generate that stops (leaving nothing behind) when ctx
// is cancelled.
func GenerateContext(ctx context.Context, path string, c Config, t kernels.Type, seed uint64, progress func(done, total int64)) error {
	return GenerateQuant(ctx, path, c, Quant{Type: t}, seed, progress)
}

// GenerateQuant is GenerateContext with the matrices quantised as q: one
// type, or a llama.cpp k-quant mixture (Quant.Mix). The weights before
// quantisation are the same whatever q is.
func GenerateQuant(ctx context.Context, path string, c Config, q Quant, seed uint64, progress func(done, total int64)) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := c.CheckQuant(q); err != nil {
		return err
	}
	if _, ok := q.FileType(); !ok {
		return fmt.Errorf("model %s: type %v has no llama.cpp file type", c.Name, q)
	}
	specs := c.QuantTensors(q)
	probed := map[kernels.Type]bool{}
	for _, s := range specs {
		if probed[s.Type] {
			continue
		}
		probed[s.Type] = true
		probe := make([]byte, s.Type.BlockBytes())
		if err := kernels.Quantize(s.Type, probe, make([]float32, s.Type.BlockSize())); err != nil {
			return fmt.Errorf("model %s: cannot generate %v weights: %v (supported: %v)", c.Name, s.Type, err, kernels.SupportedNames())
		}
	}
	total := c.QuantWeightBytes(q)
	// Refuse up front rather than after writing gigabytes: the file needs
	// its tensor bytes plus a little for the header and padding.
	if free, ok := diskFree(filepath.Dir(path)); ok && free < total+(1<<20) {
		return fmt.Errorf("model: %s: needs %d MiB for %s %v but only %d MiB are free there", path, (total>>20)+1, c.Name, q, free>>20)
	}

	w, err := gguf.Create(path)
	if err != nil {
		return err
	}
	defer w.Abort() // no-op after a successful Close
	for _, kv := range c.QuantMetadata(q, seed) {
		w.SetKV(kv.Key, kv.Value)
	}
	for _, s := range specs {
		if err := w.AddTensor(s.Name, s.Type, s.Dims...); err != nil {
			return err
		}
	}
	g := newGenerator(seed)
	var done int64
	for _, s := range specs {
		err := g.tensor(ctx, c, s, func(p []byte) error {
			if err := w.WriteTensorData(s.Name, p); err != nil {
				return err
			}
			done += int64(len(p))
			if progress != nil {
				progress(done, total)
			}
			return ctx.Err()
		})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("model: %s: generation stopped, nothing written: %w", path, ctx.Err())
			}
			return err
		}
	}
	return w.Close()
}

// diskFree is freeBytes, replaceable by tests.
var diskFree = freeBytes

type generator struct {
	seed    uint64
	workers int
	f32     []float32
	out     []byte
}

func newGenerator(seed uint64) *generator {
	return &generator{seed: seed, workers: runtime.GOMAXPROCS(0)}
}

// splitmix64 is a bijective 64-bit mixer, used to spread row indices into
// independent PCG stream seeds.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// tensor generates one tensor and passes its bytes to emit in chunks of
// whole rows.
func (g *generator) tensor(ctx context.Context, c Config, s TensorSpec, emit func([]byte) error) error {
	cols := int(s.Dims[0])
	rows := int(s.Elements() / int64(cols))
	rowBytes, err := s.Type.RowBytes(cols)
	if err != nil {
		return fmt.Errorf("tensor %s: %v", s.Name, err)
	}
	if s.Kind == KindRopeFreqs {
		vals := RopeFreqFactors(c.HeadDim, c.RopeTheta, *c.RopeScaling)
		out := make([]byte, rowBytes)
		if err := kernels.Quantize(s.Type, out, vals); err != nil {
			return fmt.Errorf("tensor %s: %v", s.Name, err)
		}
		return emit(out)
	}
	var scale, offset float64
	switch s.Kind {
	case KindMatrix:
		scale = 1 / math.Sqrt(float64(cols))
	case KindNorm:
		scale, offset = 0.05, 1
	case KindBias:
		scale = 0.02
	}
	chunkRows := max(1, chunkValues/cols)
	if need := chunkRows * cols; len(g.f32) < need {
		g.f32 = make([]float32, need)
	}
	if need := chunkRows * rowBytes; len(g.out) < need {
		g.out = make([]byte, need)
	}
	h := nameHash(s.Name)
	for r0 := 0; r0 < rows; r0 += chunkRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(chunkRows, rows-r0)
		var wg sync.WaitGroup
		errs := make([]error, g.workers)
		per := (n + g.workers - 1) / g.workers
		for wi := 0; wi < g.workers; wi++ {
			lo, hi := wi*per, min((wi+1)*per, n)
			if lo >= hi {
				break
			}
			wg.Add(1)
			go func(wi, lo, hi int) {
				defer wg.Done()
				pcg := rand.NewPCG(0, 0)
				rng := rand.New(pcg)
				for r := lo; r < hi; r++ {
					pcg.Seed(g.seed, splitmix64(h^splitmix64(uint64(r0+r))))
					row := g.f32[r*cols : (r+1)*cols]
					for i := range row {
						row[i] = float32(offset + scale*rng.NormFloat64())
					}
					if err := kernels.Quantize(s.Type, g.out[r*rowBytes:(r+1)*rowBytes], row); err != nil {
						errs[wi] = fmt.Errorf("tensor %s: %v", s.Name, err)
						return
					}
				}
			}(wi, lo, hi)
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		if err := emit(g.out[:n*rowBytes]); err != nil {
			return err
		}
	}
	return nil
}
