package transformer

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgebench/edgebench/hugemem"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model/gguf"
)

var phaseNames = [nPhases]string{"embed", "norm", "qkv", "attn", "wo", "resnorm", "mlp", "down", "res", "out"}

// decodeTimed is Decode (one token, with logits) with the wall time of
// each phase of forward (Model.lap) added to acc; the ~20 clock reads a
// layer cost well under 1% of a token.
func (m *Model) decodeTimed(token int, acc *[nPhases]time.Duration) {
	t0 := time.Now()
	m.lap = func(ph phase) {
		t := time.Now()
		acc[ph] += t.Sub(t0)
		t0 = t
	}
	defer func() { m.lap = nil }()
	if _, err := m.Decode(token); err != nil {
		panic(err)
	}
}

// phaseBytes is the weight bytes each phase of a decode token reads.
func (m *Model) phaseBytes() (pb [nPhases]int64) {
	for i := range m.layers {
		L := &m.layers[i]
		pb[phQKV] += int64(len(L.wq.Data) + len(L.wk.Data) + len(L.wv.Data))
		pb[phWo] += int64(len(L.wo.Data))
		pb[phMLP] += int64(len(L.gate.Data) + len(L.up.Data))
		pb[phDown] += int64(len(L.down.Data))
	}
	pb[phOut] = int64(len(m.output.Data))
	return pb
}

// TestDecodeTimedMatches: timing a decode's phases (Model.lap) leaves its
// logits bit for bit, every phase is told once per layer (once per token
// for the embedding and the output) in forward's order, and lap is unset
// afterwards.
func TestDecodeTimedMatches(t *testing.T) {
	for _, cfg := range variants() {
		f := writeModel(t, cfg, kernels.Q8_0)
		a := mustLoad(t, f, Options{Threads: 2, MaxContext: 32})
		bm := mustLoad(t, f, Options{Threads: 2, MaxContext: 32})
		var order []phase
		bm.lap = func(p phase) { order = append(order, p) }
		if _, err := bm.Decode(1); err != nil {
			t.Fatal(err)
		}
		want := []phase{phEmbed}
		for range cfg.Layers {
			want = append(want, phNorm, phQKV, phAttn, phWo, phResNorm, phMLP, phDown, phRes)
		}
		if want = append(want, phOut); !slices.Equal(order, want) {
			t.Fatalf("%s: phases %v, want %v", cfg.Name, order, want)
		}
		bm.lap = nil
		if _, err := a.Decode(1); err != nil {
			t.Fatal(err)
		}
		var acc [nPhases]time.Duration
		for i, tok := range randTokens(12, cfg.Vocab, 3) {
			want, err := a.Decode(tok)
			if err != nil {
				t.Fatal(err)
			}
			bm.decodeTimed(tok, &acc)
			for j, v := range bm.logits {
				if v != want[j] {
					t.Fatalf("%s: token %d: logit %d = %v, Decode gives %v", cfg.Name, i, j, v, want[j])
				}
			}
			if bm.best != a.Argmax() {
				t.Fatalf("%s: token %d: argmax %d, Decode gives %d", cfg.Name, i, bm.best, a.Argmax())
			}
			if bm.lap != nil {
				t.Fatalf("%s: lap still set after decodeTimed", cfg.Name)
			}
		}
	}
}

// openWeights opens path with its weights in one of four kinds of memory:
// "mmap" (gguf.Open: the page cache, mapped), "nommap" (gguf.Open, then
// Options.NoMmap: see memOptions), "heap" (the whole file read into a Go
// byte slice) or "anon-thp" (read into an anonymous mapping advised
// MADV_HUGEPAGE, which this kernel's THP setting "madvise" honours).
func openWeights(tb testing.TB, path, mem string) *gguf.File {
	tb.Helper()
	var f *gguf.File
	var err error
	switch mem {
	case "mmap", "nommap":
		f, err = gguf.Open(path)
	case "heap":
		var b []byte
		if b, err = os.ReadFile(path); err == nil {
			f, err = gguf.Parse(path, b)
		}
	case "anon-thp":
		var b []byte
		var free func()
		if b, free, err = readHuge(path); err == nil {
			f, err = gguf.Parse(path, b)
			tb.Cleanup(free)
		}
	default:
		err = fmt.Errorf("unknown memory kind %q (mmap, nommap, heap, anon-thp)", mem)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f
}

// memOptions sets the Options of memory kind mem (openWeights).
func memOptions(mem string, o Options) Options {
	o.NoMmap = mem == "nommap"
	return o
}

// hugeMB is the MB of b mapped with huge pages (hugemem.Measure), or -1
// where that cannot be measured.
func hugeMB(b []byte) float64 {
	cov, err := hugemem.Measure(b)
	if err != nil {
		return -1
	}
	return float64(cov.Huge) / (1 << 20)
}

// BenchmarkDecodeBreakdown splits the decode time of the GGUF files in
// $EDGEBENCH_BENCH_MODELS into its phases (decodeTimed): per phase µs/tok
// over the fastest quarter of the tokens (q1-tok/s is their speed; on a
// shared machine they are the ones the neighbours disturbed least) and, for
// the matrix phases, the weight GB/s it reached (compare with
// `edgebench sysinfo`'s read bandwidth). $EDGEBENCH_BENCH_MEM lists the
// kinds of weight memory to compare (openWeights; default "mmap"), run one
// after the other (go test's -count repeats each before the next, so for
// A/B figures on a shared machine use BenchmarkDecodeMemAB, which pairs
// them, or alternate whole runs). Threads and prompt length as for
// BenchmarkDecodeFiles (but the prompt defaults to 64 tokens, the runner's
// -p 64 cell); $EDGEBENCH_BENCH_KV sets the KV cache type.
//
//	EDGEBENCH_BENCH_MODELS=$HOME/.cache/edgebench/models/SmolLM2-135M-q8_0-seed1-9e718d57be0a.gguf \
//	EDGEBENCH_BENCH_MEM=nommap \
//	    go test -run '^$' -bench DecodeBreakdown -benchtime 128x ./transformer/
func BenchmarkDecodeBreakdown(b *testing.B) {
	list := os.Getenv("EDGEBENCH_BENCH_MODELS")
	if list == "" {
		b.Skip("EDGEBENCH_BENCH_MODELS not set")
	}
	mems := strings.Split(os.Getenv("EDGEBENCH_BENCH_MEM"), ",")
	if mems[0] == "" {
		mems = []string{"mmap"}
	}
	threads, _ := strconv.Atoi(os.Getenv("EDGEBENCH_BENCH_THREADS"))
	promptLen, _ := strconv.Atoi(os.Getenv("EDGEBENCH_BENCH_PROMPT"))
	if promptLen <= 0 {
		promptLen = 64
	}
	// $EDGEBENCH_BENCH_KV: the KV cache type (default f32).
	var kv kernels.Type
	if s := os.Getenv("EDGEBENCH_BENCH_KV"); s != "" {
		var err error
		if kv, err = kernels.ParseType(s); err != nil {
			b.Fatal(err)
		}
	}
	for _, path := range strings.Split(list, ",") {
		for _, mem := range mems {
			b.Run(strings.TrimSuffix(filepath.Base(path), ".gguf")+"/mem="+mem, func(b *testing.B) {
				f := openWeights(b, path, mem)
				m, err := Load(f, memOptions(mem, Options{MaxContext: promptLen + 33, Threads: threads, KVType: kv}))
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				prompt := randTokens(promptLen, m.Config().Vocab, 5)
				refill := func() {
					m.Reset()
					if _, err := m.Prefill(prompt); err != nil {
						b.Fatal(err)
					}
				}
				refill()
				// One untimed pass over every weight, so that the first
				// timed tokens do not fault pages in.
				for range 2 {
					if _, err := m.Decode(1); err != nil {
						b.Fatal(err)
					}
				}
				refill()
				// Per token phase times, so that the fastest tokens (those
				// the neighbours on a shared machine disturbed least) can
				// be broken down apart from the mean.
				toks := make([][nPhases]time.Duration, 0, 4096)
				tok := 1
				for b.Loop() {
					if m.Pos() == len(prompt)+32 {
						b.StopTimer()
						refill()
						b.StartTimer()
					}
					var acc [nPhases]time.Duration
					m.decodeTimed(tok, &acc)
					toks = append(toks, acc)
					tok = (tok*31 + 7) % m.Config().Vocab
				}
				n := float64(b.N)
				tps := n / b.Elapsed().Seconds()
				b.ReportMetric(tps, "tok/s")
				b.ReportMetric(tps*float64(m.WeightBytesPerToken())/1e9, "weightGB/s")
				total := func(a [nPhases]time.Duration) (t time.Duration) {
					for _, d := range a {
						t += d
					}
					return t
				}
				slices.SortFunc(toks, func(a, b [nPhases]time.Duration) int { return cmp.Compare(total(a), total(b)) })
				// The fastest quarter of the tokens, phase by phase.
				fast := toks[:max(1, len(toks)/4)]
				var acc [nPhases]time.Duration
				for _, a := range fast {
					for ph, d := range a {
						acc[ph] += d
					}
				}
				nf := float64(len(fast))
				b.ReportMetric(nf/total(acc).Seconds(), "q1-tok/s")
				b.ReportMetric(nf/total(acc).Seconds()*float64(m.WeightBytesPerToken())/1e9, "q1-weightGB/s")
				pb := m.phaseBytes()
				var mat time.Duration
				for ph, d := range acc {
					b.ReportMetric(float64(d.Microseconds())/nf, phaseNames[ph]+"-µs/tok")
					if pb[ph] > 0 {
						mat += d
						b.ReportMetric(float64(pb[ph])*nf/d.Seconds()/1e9, phaseNames[ph]+"-GB/s")
					}
				}
				b.ReportMetric(100*float64(mat)/float64(total(acc)), "matrix-%")
				b.ReportMetric(hugeMB(m.WeightMemory()), "hugeMB")
			})
		}
	}
}

// BenchmarkDecodeMemAB compares decode speed with the weights in two kinds
// of memory (openWeights; $EDGEBENCH_BENCH_MEM, default "mmap,nommap")
// for each file in $EDGEBENCH_BENCH_MODELS, both models loaded in one
// process and decoding in alternating blocks of 32 tokens (one prompt
// refill each), so that a busy neighbour on a shared machine slows both
// alike. It reports each kind's median block speed and the median of the
// per-pair ratios B/A. One op is one pair of blocks.
//
//	EDGEBENCH_BENCH_MODELS=$HOME/.cache/edgebench/models/SmolLM2-135M-q8_0-seed1-9e718d57be0a.gguf \
//	    go test -run '^$' -bench DecodeMemAB -benchtime 20x ./transformer/
func BenchmarkDecodeMemAB(b *testing.B) {
	list := os.Getenv("EDGEBENCH_BENCH_MODELS")
	if list == "" {
		b.Skip("EDGEBENCH_BENCH_MODELS not set")
	}
	mems := strings.Split(os.Getenv("EDGEBENCH_BENCH_MEM"), ",")
	if len(mems) != 2 {
		mems = []string{"mmap", "nommap"}
	}
	threads, _ := strconv.Atoi(os.Getenv("EDGEBENCH_BENCH_THREADS"))
	for _, path := range strings.Split(list, ",") {
		b.Run(strings.TrimSuffix(filepath.Base(path), ".gguf"), func(b *testing.B) {
			var ms [2]*Model
			for i, mem := range mems {
				m, err := Load(openWeights(b, path, mem), memOptions(mem, Options{MaxContext: 64 + 33, Threads: threads}))
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				ms[i] = m
			}
			abBlocks(b, ms, mems)
		})
	}
}

// abBlocks decodes blocks of 32 tokens after a 64-token prompt on ms[0]
// and ms[1] in turn (b.N pairs, after one untimed pair) and reports each
// one's median block tok/s and the median per-pair speed ratio.
func abBlocks(b *testing.B, ms [2]*Model, names []string) {
	prompt := randTokens(64, ms[0].Config().Vocab, 5)
	block := func(m *Model) time.Duration {
		m.Reset()
		if _, err := m.Prefill(prompt); err != nil {
			b.Fatal(err)
		}
		tok := 1
		t0 := time.Now()
		for range 32 {
			if _, err := m.Decode(tok); err != nil {
				b.Fatal(err)
			}
			tok = (tok*31 + 7) % m.Config().Vocab
		}
		return time.Since(t0)
	}
	block(ms[0])
	block(ms[1])
	var ta, tb, ratio []float64
	for i := 0; b.Loop(); i++ {
		// Alternate which goes first, so neither always follows the other.
		first := i % 2
		var d [2]time.Duration
		d[first] = block(ms[first])
		d[1-first] = block(ms[1-first])
		ta = append(ta, 32/d[0].Seconds())
		tb = append(tb, 32/d[1].Seconds())
		ratio = append(ratio, d[0].Seconds()/d[1].Seconds())
	}
	med := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	b.ReportMetric(med(ta), names[0]+"-tok/s")
	b.ReportMetric(med(tb), names[1]+"-tok/s")
	b.ReportMetric(med(ratio), names[1]+"/"+names[0])
	b.ReportMetric(slices.Max(ta), names[0]+"-best-tok/s")
	b.ReportMetric(slices.Max(tb), names[1]+"-best-tok/s")
}

// BenchmarkReadBandwidthTHP measures the read bandwidth of a 256 MiB
// buffer on the Go heap (4 KiB pages where THP is "madvise", as for a file
// mapping) and in an anonymous mapping advised
// MADV_HUGEPAGE (as for the weights with Options.NoMmap), passes
// alternating, at 1 and 2 threads: the best and median GB/s of each.
//
//	go test -run '^$' -bench ReadBandwidthTHP -benchtime 1x ./transformer/
func BenchmarkReadBandwidthTHP(b *testing.B) {
	const size = 256 << 20
	heap := make([]byte, size)
	anon, free, err := hugemem.Alloc(size)
	if err != nil {
		b.Skip(err)
	}
	defer free()
	for i := range heap {
		heap[i] = byte(i * 7)
		anon[i] = byte(i * 7)
	}
	pass := func(buf []byte, threads int) float64 {
		var wg sync.WaitGroup
		t0 := time.Now()
		c := len(buf) / threads
		for i := range threads {
			wg.Add(1)
			go func() { defer wg.Done(); kernels.StreamRead(buf[i*c : (i+1)*c]) }()
		}
		wg.Wait()
		return size / time.Since(t0).Seconds() / 1e9
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			var h, a []float64
			for b.Loop() {
				for range 10 {
					h = append(h, pass(heap, threads))
					a = append(a, pass(anon, threads))
				}
			}
			slices.Sort(h)
			slices.Sort(a)
			b.ReportMetric(h[len(h)-1], "heap-best-GB/s")
			b.ReportMetric(h[len(h)/2], "heap-med-GB/s")
			b.ReportMetric(a[len(a)-1], "thp-best-GB/s")
			b.ReportMetric(a[len(a)/2], "thp-med-GB/s")
			b.ReportMetric(hugeMB(heap[:size]), "heap-hugeMB")
			b.ReportMetric(hugeMB(anon[:size]), "thp-hugeMB")
		})
	}
}

// readHuge reads path into hugemem memory.
func readHuge(path string) ([]byte, func(), error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	b, free, err := hugemem.Alloc(int(st.Size()))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if _, err := io.ReadFull(fh, b); err != nil {
		free()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, free, nil
}
