package device

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
)

func TestStreamBufferSize(t *testing.T) {
	tests := []struct {
		name      string
		opt       RooflineOptions
		llc       int64
		avail     uint64
		want      int64
		wantNotes []string
	}{
		{"small LLC: 256 MiB floor", RooflineOptions{}, 32 << 20, 24 << 30, 256 << 20, nil},
		{"large LLC: 8x", RooflineOptions{}, 96 << 20, 24 << 30, 768 << 20, nil},
		{"unknown LLC", RooflineOptions{}, 0, 0, 256 << 20, nil},
		{"capped by memory", RooflineOptions{}, 2 << 20, 300 << 20, 150 << 20, []string{"capped at 150 MiB (half of the 300 MiB available memory)"}},
		{"capped under 4x LLC", RooflineOptions{}, 64 << 20, 400 << 20, 200 << 20, []string{"capped", "under 4x the 64 MiB last-level cache"}},
		{"explicit", RooflineOptions{BufferBytes: 1 << 20}, 32 << 20, 1 << 30, 1 << 20, nil},
		{"quick", RooflineOptions{Quick: true}, 32 << 20, 1 << 30, 16 << 20, nil},
	}
	for _, tt := range tests {
		got, notes := streamBufferSize(tt.opt, tt.llc, tt.avail)
		if got != tt.want {
			t.Errorf("%s: size %d MiB, want %d MiB", tt.name, got>>20, tt.want>>20)
		}
		joined := strings.Join(notes, "|")
		for _, w := range tt.wantNotes {
			if !strings.Contains(joined, w) {
				t.Errorf("%s: notes %q lack %q", tt.name, notes, w)
			}
		}
		if tt.wantNotes == nil && len(notes) > 0 {
			t.Errorf("%s: unexpected notes %q", tt.name, notes)
		}
	}
}

// portableLoops is a local, instrumented stand-in for the kernels loops with
// the same checksum contract (wrapping sum of little-endian uint64 words).
func portableLoops(bytesRead *atomic.Int64) loops {
	return loops{
		streams: []int{1, 4},
		streamRead: func(b []byte, _ int) uint64 {
			bytesRead.Add(int64(len(b)))
			var s uint64
			for i := 0; i+8 <= len(b); i += 8 {
				s += uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
					uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
			}
			return s
		},
		fmaPeak: func(iters int) float32 {
			var a float32
			for i := 0; i < iters; i++ {
				a = a*0.5 + 1
			}
			return a
		},
		flopsPerIter: 2,
		isa:          "test",
	}
}

func TestMeasureRooflineReadsEveryByte(t *testing.T) {
	var read atomic.Int64
	opt := RooflineOptions{Threads: 3, BufferBytes: 1 << 20, Passes: 2, FMAPass: time.Millisecond, Quick: true}
	r, err := measureRoofline(context.Background(), opt, portableLoops(&read))
	if err != nil {
		t.Fatal(err)
	}
	// 1 MiB rounded up to whole 4 KiB chunks for 3 workers.
	if r.BufferBytes != 3*4096*86 {
		t.Errorf("BufferBytes = %d, want %d", r.BufferBytes, 3*4096*86)
	}
	// One checksum read of the whole buffer, then for each of the 2 stream
	// counts warm-up + 2 passes for 1 thread and for 3 threads.
	if want := r.BufferBytes * (1 + 2*(3+3)); read.Load() != want {
		t.Errorf("bytes read = %d, want %d", read.Load(), want)
	}
	if r.ISA != "test" || r.Threads != 3 || r.Passes != 2 || !r.Quick {
		t.Errorf("roofline metadata wrong: %+v", r)
	}
	for name, v := range map[string]float64{"read1": r.ReadGBps1, "readAll": r.ReadGBpsAll,
		"fma1": r.FMAGFLOPS1, "fmaAll": r.FMAGFLOPSAll, "read1 median": r.ReadGBps1Median} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v", name, v)
		}
	}
	if r.ReadGBps1Median > r.ReadGBps1 || r.FMAGFLOPSAllMedian > r.FMAGFLOPSAll {
		t.Errorf("median above best: %+v", r)
	}
	if len(r.ReadByStreams) != 2 || r.ReadByStreams[0].Streams != 1 || r.ReadByStreams[1].Streams != 4 {
		t.Fatalf("ReadByStreams = %+v, want stream counts 1 and 4", r.ReadByStreams)
	}
	for _, sr := range r.ReadByStreams {
		if !(sr.ReadGBps1 > 0) || sr.ReadGBps1 > r.ReadGBps1 || sr.ReadGBpsAll > r.ReadGBpsAll || sr.ReadGBpsAllMedian > sr.ReadGBpsAll {
			t.Errorf("stream rate %+v inconsistent with headline read %v / %v", sr, r.ReadGBps1, r.ReadGBpsAll)
		}
		if sr.Streams == r.ReadStreamsAll && sr.ReadGBpsAll != r.ReadGBpsAll {
			t.Errorf("headline all-thread read %v is not that of its %d streams (%v)", r.ReadGBpsAll, sr.Streams, sr.ReadGBpsAll)
		}
	}
	if !strings.Contains(r.Statistic, "best of 2") || !strings.Contains(r.Statistic, "[1 4] interleaved streams") {
		t.Errorf("Statistic = %q", r.Statistic)
	}
}

func TestMeasureRooflineDetectsMissedBytes(t *testing.T) {
	var read atomic.Int64
	l := portableLoops(&read)
	l.streamRead = func(b []byte, _ int) uint64 { return 1 } // not additive: slices would not add up
	_, err := measureRoofline(context.Background(), RooflineOptions{Threads: 2, BufferBytes: 64 << 10, Quick: true}, l)
	if err == nil || !strings.Contains(err.Error(), "checksums disagree") {
		t.Errorf("err = %v, want checksum mismatch", err)
	}
}

func TestMeasureRooflineHonoursCancel(t *testing.T) {
	var read atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := measureRoofline(ctx, RooflineOptions{Quick: true}, portableLoops(&read)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled before start: err = %v", err)
	}
	if read.Load() != 0 {
		t.Errorf("read %d bytes after cancel", read.Load())
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	l := portableLoops(&read)
	var calls atomic.Int64
	l.fmaPeak = func(iters int) float32 {
		calls.Add(1)
		cancel() // the user presses ^C during the FMA phase
		return 2
	}
	_, err := measureRoofline(ctx, RooflineOptions{Quick: true, BufferBytes: 64 << 10}, l)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled during FMA: err = %v", err)
	}
	if calls.Load() > 2 {
		t.Errorf("FMA ran %d times after cancel", calls.Load())
	}
}

// The real kernels loops, quickly: figures must be positive and say which
// ISA ran. Speed itself is not asserted (shared CI machine).
func TestMeasureRooflineKernelsQuick(t *testing.T) {
	for _, pin := range []bool{false, true} {
		r, err := MeasureRoofline(context.Background(), RooflineOptions{Quick: true, BufferBytes: 4 << 20, Pin: pin})
		if err != nil {
			t.Fatal(err)
		}
		if r.ISA != kernels.RooflineISA() || r.Threads != runtime.NumCPU() {
			t.Errorf("ISA %q threads %d", r.ISA, r.Threads)
		}
		if !(r.ReadGBps1 > 0 && r.ReadGBpsAll > 0 && r.FMAGFLOPS1 > 0 && r.FMAGFLOPSAll > 0) {
			t.Errorf("non-positive figure: %+v", r)
		}
		if pin && runtime.GOOS == "linux" && !r.Pinned {
			t.Errorf("pinning failed: %q", r.Notes)
		}
	}
}

func TestBestAndMedian(t *testing.T) {
	ms := time.Millisecond
	best, med := bestAndMedian([]time.Duration{4 * ms, 1 * ms, 2 * ms, 8 * ms}, func(d time.Duration) float64 { return 1 / d.Seconds() })
	if best != 1000 || med != 1/(3*ms).Seconds() {
		t.Errorf("best %v median %v", best, med)
	}
}

func sampleRoofline() Roofline {
	return Roofline{ReadGBps1: 20, ReadGBpsAll: 30, FMAGFLOPS1: 100, FMAGFLOPSAll: 200,
		Threads: runtime.NumCPU(), ISA: kernels.RooflineISA(), BufferBytes: 256 << 20, Passes: 10,
		MeasuredAt: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
}

func TestRooflineCache(t *testing.T) {
	c := RooflineCache{Dir: filepath.Join(t.TempDir(), "edgebench")}
	fp, err := fixture("rpi5", "arm64").Collect()
	if err != nil {
		t.Fatal(err)
	}
	r := sampleRoofline()
	if _, ok := c.Load(fp, r.ISA); ok {
		t.Fatal("hit in an empty cache")
	}
	if err := c.Save(fp, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.Path(fp), "roofline-"+fp.Hash()+".json") {
		t.Errorf("path %s", c.Path(fp))
	}
	got, ok := c.Load(fp, r.ISA)
	if !ok || got.ReadGBpsAll != 30 || !got.MeasuredAt.Equal(r.MeasuredAt) {
		t.Errorf("Load = %+v, %v", got, ok)
	}
	if _, ok := c.Load(fp, "some-other-isa"); ok {
		t.Error("hit although measured with other loops")
	}
	other := fp
	other.Cores = 2
	if _, ok := c.Load(other, r.ISA); ok {
		t.Error("hit for another fingerprint")
	}
	quick := r
	quick.Quick = true
	if err := c.Save(fp, quick); err == nil {
		t.Error("quick roofline cached")
	}
	if err := os.WriteFile(c.Path(fp), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Load(fp, r.ISA); ok {
		t.Error("hit on a corrupt file")
	}
	if left, _ := filepath.Glob(filepath.Join(c.Dir, ".roofline-*")); len(left) > 0 {
		t.Errorf("temp files left: %q", left)
	}
}

func TestLoadOrMeasure(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	fp, err := fixture("x86-vm", "amd64").Collect()
	if err != nil {
		t.Fatal(err)
	}
	c, err := DefaultCache()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Save(fp, sampleRoofline()); err != nil {
		t.Fatal(err)
	}
	r, src, err := LoadOrMeasure(context.Background(), fp, RooflineOptions{}, false)
	if err != nil || src != SourceCache || r.ReadGBps1 != 20 {
		t.Errorf("cached: %+v %q %v", r, src, err)
	}
	if got, ok := Cached(fp); !ok || got.FMAGFLOPSAll != 200 {
		t.Errorf("Cached = %+v, %v", got, ok)
	}
	r, src, err = LoadOrMeasure(context.Background(), fp, RooflineOptions{Quick: true, BufferBytes: 1 << 20}, true)
	if err != nil || src != SourceMeasured || !r.Quick {
		t.Errorf("remeasure: %+v %q %v", r, src, err)
	}
	// A quick measurement must not have replaced the cached ceiling.
	if got, ok := Cached(fp); !ok || got.ReadGBps1 != 20 {
		t.Errorf("cache after quick remeasure = %+v, %v", got, ok)
	}
	// One thread is served from the device roofline's one-worker figures.
	r, src, err = LoadOrMeasure(context.Background(), fp, RooflineOptions{Threads: 1}, false)
	if err != nil || src != SourceCache || r.Threads != 1 || r.ReadGBpsAll != 20 || r.FMAGFLOPSAll != 100 || r.FMAGFLOPS1 != 100 {
		t.Errorf("one thread: %+v %q %v", r, src, err)
	}
	// Another thread count is measured, and not cached: the cache keeps
	// the roofline on all CPUs that `edgebench run` compares with.
	fast := RooflineOptions{BufferBytes: 1 << 20, Passes: 1, FMAPass: time.Millisecond}
	opt := fast
	opt.Threads = runtime.NumCPU() + 1
	r, src, err = LoadOrMeasure(context.Background(), fp, opt, false)
	if err != nil || src != SourceMeasured || r.Threads != opt.Threads || !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.HasPrefix(n, "not cached: measured on") }) {
		t.Errorf("other thread count: %+v %q %v", r, src, err)
	}
	if got, ok := Cached(fp); !ok || got.Threads != runtime.NumCPU() || got.ReadGBps1 != 20 {
		t.Errorf("cache replaced by a roofline on another thread count: %+v, %v", got, ok)
	}
	// A cached roofline on another thread count (an older binary's) is no
	// device roofline: Cached ignores it and the next measurement on all
	// CPUs replaces it.
	stale := sampleRoofline()
	stale.Threads = runtime.NumCPU() + 1
	if err := c.Save(fp, stale); err != nil {
		t.Fatal(err)
	}
	if got, ok := Cached(fp); ok {
		t.Errorf("Cached returned a roofline on %d threads: %+v", got.Threads, got)
	}
	r, src, err = LoadOrMeasure(context.Background(), fp, fast, false)
	if err != nil || src != SourceMeasured || r.Threads != runtime.NumCPU() {
		t.Errorf("all CPUs over a stale cache: %+v %q %v", r, src, err)
	}
	if got, ok := Cached(fp); !ok || got.Threads != runtime.NumCPU() || got.ReadGBps1 == 20 {
		t.Errorf("stale cache not replaced: %+v, %v", got, ok)
	}
}

func TestSaveCacheDefault(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	fp, err := fixture("laptop-intel", "amd64").Collect()
	if err != nil {
		t.Fatal(err)
	}
	if err := SaveCache(fp, sampleRoofline()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "edgebench", "roofline-"+fp.Hash()+".json")); err != nil {
		t.Error(err)
	}
	if r, ok := Cached(fp); !ok || r.ReadGBps1 != 20 {
		t.Errorf("Cached = %+v, %v", r, ok)
	}
}
