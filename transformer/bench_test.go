package transformer

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/kernels/kbench"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
)

// BenchmarkStories15M measures decode and prefill speed of a
// stories15M-shaped model (synthetic weights, generated once per type into
// the benchmark's temp dir) for f32, q8_0 and q4_0 at 1 and 2 threads.
//
//	go test -run '^$' -bench Stories15M -benchtime 2s ./transformer/
//
// decode: one token per op at cache depths cycling over 1..max context
// (256 for stories15M), reported as tok/s and weight GB/s
// (WeightBytesPerToken × tok/s). prefill: a 128-token prompt per op from an
// empty cache, reported as tok/s.
func BenchmarkStories15M(b *testing.B) {
	cfg, err := model.Preset("stories15M")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, typ := range []kernels.Type{kernels.F32, kernels.Q8_0, kernels.Q4_0} {
		var f *gguf.File
		open := func(b *testing.B) *gguf.File {
			if f == nil {
				path := filepath.Join(dir, "stories15M-"+typ.String()+".gguf")
				if err := model.Generate(path, cfg, typ, 1, nil); err != nil {
					b.Fatal(err)
				}
				if f, err = gguf.Open(path); err != nil {
					b.Fatal(err)
				}
			}
			return f
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d/decode", typ, threads), func(b *testing.B) {
				m, err := Load(open(b), Options{Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				tok := 1
				for b.Loop() {
					if m.Pos() == m.MaxContext() {
						m.Reset()
					}
					if _, err := m.Decode(tok); err != nil {
						b.Fatal(err)
					}
					tok = (tok*31 + 7) % cfg.Vocab
				}
				tps := float64(b.N) / b.Elapsed().Seconds()
				b.ReportMetric(tps, "tok/s")
				b.ReportMetric(tps*float64(m.WeightBytesPerToken())/1e9, "weightGB/s")
			})
			b.Run(fmt.Sprintf("%s/threads=%d/prefill128", typ, threads), func(b *testing.B) {
				m, err := Load(open(b), Options{Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				prompt := randTokens(128, cfg.Vocab, 9)
				for b.Loop() {
					m.Reset()
					if _, err := m.Prefill(prompt); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*len(prompt))/b.Elapsed().Seconds(), "tok/s")
			})
		}
		if f != nil {
			f.Close()
		}
	}
}

// BenchmarkStories15MDeepKV measures decode at cache depths 1024..2048
// (stories15M shape, q8_0, 2 threads, MaxContext 2048 beyond the trained
// 256, which only changes the rope angles) with an f32 and an f16 KV cache:
// at this depth the cache read per token (≈21 MB f32) exceeds the weights
// (≈17 MB). Its head dim (48) is not whole q8_0 blocks; the q8_0 cache is
// measured by BenchmarkStories42MDeepKV.
func BenchmarkStories15MDeepKV(b *testing.B) {
	benchDeepKV(b, "stories15M", kernels.F32, kernels.F16)
}

// BenchmarkStories42MDeepKV is the same at stories42M shape (head dim 64,
// 8 layers, q8_0 weights ≈45 MB; the f32 cache at depth 1536 ≈50 MB a
// token) with f32, f16 and q8_0 KV caches, for their ratios in one run:
//
//	go test -run '^$' -bench Stories42MDeepKV -benchtime 200x ./transformer/
//
// Measured 2026-11 (2 shared vCPUs, AMD EPYC, avx512, mean depth ≈1125;
// three runs, noisy): f32 104–117 tok/s, f16 229–277, q8_0 187–226, so
// q8_0 ≈ 0.8–1.0× f16 and ≈1.9× f32 while caching 47% of f16's bytes.
// Values row-major with dequantize-accumulate instead gave q8_0 at only
// 0.4–0.5× f16 (101–126 tok/s).
func BenchmarkStories42MDeepKV(b *testing.B) {
	benchDeepKV(b, "stories42M", kernels.F32, kernels.F16, kernels.Q8_0)
}

// benchDeepKV decodes preset (q8_0 weights, 2 threads, MaxContext 2048)
// from cache depth 1024 on, refilling the 1024-token prompt when the
// cache is full, once per KV cache type.
func benchDeepKV(b *testing.B, preset string, kvTypes ...kernels.Type) {
	cfg, err := model.Preset(preset)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), preset+"-q8_0.gguf")
	if err := model.Generate(path, cfg, kernels.Q8_0, 1, nil); err != nil {
		b.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	prompt := randTokens(1024, cfg.Vocab, 3)
	for _, kv := range kvTypes {
		b.Run("kv="+kv.String(), func(b *testing.B) {
			m, err := Load(f, Options{Threads: 2, MaxContext: 2048, KVType: kv})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			refill := func() {
				m.Reset()
				if _, err := m.Prefill(prompt); err != nil {
					b.Fatal(err)
				}
			}
			refill()
			var attended float64 // cache positions read, summed over the decodes
			for b.Loop() {
				if m.Pos() == m.MaxContext() {
					b.StopTimer()
					refill()
					b.StartTimer()
				}
				attended += float64(m.Pos() + 1)
				if _, err := m.Decode(7); err != nil {
					b.Fatal(err)
				}
			}
			tps := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(tps, "tok/s")
			depth := attended / float64(b.N)
			b.ReportMetric(tps*(float64(m.WeightBytesPerToken())+depth*float64(m.KVBytesPerToken()))/1e9, "GB/s")
		})
	}
}

// BenchmarkDecodeFiles measures decode of the GGUF files listed in
// $EDGEBENCH_BENCH_MODELS (comma-separated paths, e.g. the runner's cached
// SmolLM2-135M and Llama-3.2-1B models) at all threads, or $EDGEBENCH_BENCH_THREADS;
// skipped when unset. It reports tok/s and weight GB/s, the figures the runner's % roofline
// column is made of, and the process CPU time per decoded token (at 1 thread
// the steadiest figure on a loaded machine).
//
//	EDGEBENCH_BENCH_MODELS=$HOME/.cache/edgebench/models/SmolLM2-135M-q8_0-seed1-9e718d57be0a.gguf \
//	    go test -run '^$' -bench DecodeFiles -benchtime 64x ./transformer/
func BenchmarkDecodeFiles(b *testing.B) {
	list := os.Getenv("EDGEBENCH_BENCH_MODELS")
	if list == "" {
		b.Skip("EDGEBENCH_BENCH_MODELS not set")
	}
	for _, path := range strings.Split(list, ",") {
		b.Run(strings.TrimSuffix(filepath.Base(path), ".gguf"), func(b *testing.B) {
			f, err := gguf.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			threads, _ := strconv.Atoi(os.Getenv("EDGEBENCH_BENCH_THREADS"))
			// $EDGEBENCH_BENCH_PROMPT sets the prompt length (default 16);
			// 64 is `edgebench run -p 64 -n 32`'s cell, whose decodes
			// attend to 64-96 cached positions.
			promptLen, _ := strconv.Atoi(os.Getenv("EDGEBENCH_BENCH_PROMPT"))
			if promptLen <= 0 {
				promptLen = 16
			}
			m, err := Load(f, Options{MaxContext: max(64, promptLen+33), Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			// Like the runner's default cell: a 16-token prompt, then 32
			// decoded tokens, again and again.
			prompt := randTokens(promptLen, m.Config().Vocab, 5)
			refill := func() {
				m.Reset()
				if _, err := m.Prefill(prompt); err != nil {
					b.Fatal(err)
				}
			}
			refill()
			tok := 1
			var refillCPU time.Duration // CPU time spent refilling, not decoding
			cpu0, cpuOK := kbench.ProcessCPU()
			for b.Loop() {
				if m.Pos() == len(prompt)+32 {
					b.StopTimer()
					c0, _ := kbench.ProcessCPU()
					refill()
					c1, _ := kbench.ProcessCPU()
					refillCPU += c1 - c0
					b.StartTimer()
				}
				if _, err := m.Decode(tok); err != nil {
					b.Fatal(err)
				}
				tok = (tok*31 + 7) % m.Config().Vocab
			}
			cpu1, _ := kbench.ProcessCPU()
			tps := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(tps, "tok/s")
			b.ReportMetric(tps*float64(m.WeightBytesPerToken())/1e9, "weightGB/s")
			if cpuOK {
				// Includes the workers' spinning between loops, so it is a
				// figure for comparing builds, not a work count.
				b.ReportMetric(float64((cpu1-cpu0-refillCPU).Microseconds())/float64(b.N), "cpu-µs/tok")
			}
		})
	}
}
