package device

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/edgebench/edgebench/hugemem"
	"github.com/edgebench/edgebench/kernels"
)

// Roofline holds the measured ceilings of a device: how fast one thread and
// all threads can stream memory, and how many FP32 FMA flops they can issue.
// Bandwidth is in GB/s (1e9 bytes per second, as STREAM reports), compute in
// GFLOP/s (1e9 flops per second, an FMA counting 2).
//
// The headline figures are the best of Passes timed passes, STREAM's
// convention: the fastest pass is the one least disturbed by interrupts, page
// faults and other processes, so it is the closest observation of what the
// hardware can do. The medians are kept beside them to show the noise.
type Roofline struct {
	ReadGBps1    float64 `json:"read_gbps_1"`
	ReadGBpsAll  float64 `json:"read_gbps_all"`
	FMAGFLOPS1   float64 `json:"fma_gflops_1"`
	FMAGFLOPSAll float64 `json:"fma_gflops_all"`

	ReadGBps1Median    float64 `json:"read_gbps_1_median"`
	ReadGBpsAllMedian  float64 `json:"read_gbps_all_median"`
	FMAGFLOPS1Median   float64 `json:"fma_gflops_1_median"`
	FMAGFLOPSAllMedian float64 `json:"fma_gflops_all_median"`

	// ReadStreams1 and ReadStreamsAll are the interleaved streams per worker
	// (kernels.StreamReadStreams) of the headline read figures: the count
	// that read fastest. ReadByStreams has every count tried.
	ReadStreams1   int           `json:"read_streams_1"`
	ReadStreamsAll int           `json:"read_streams_all"`
	ReadByStreams  []StreamsRate `json:"read_by_streams,omitempty"`

	Threads     int           `json:"threads"`      // workers in the "all" measurements
	ISA         string        `json:"isa"`          // kernels.RooflineISA() that ran
	BufferBytes int64         `json:"buffer_bytes"` // total bytes streamed per pass
	Passes      int           `json:"passes"`       // timed passes per figure (a warm-up pass is not counted)
	Statistic   string        `json:"statistic"`    // how the headline figures were chosen
	Pinned      bool          `json:"pinned"`       // workers were locked to OS threads pinned to one CPU each
	Quick       bool          `json:"quick,omitempty"`
	Duration    time.Duration `json:"duration_ns"` // wall time of the whole measurement
	MeasuredAt  time.Time     `json:"measured_at"`
	Notes       []string      `json:"notes,omitempty"`
}

// StreamsRate is the read bandwidth measured with Streams interleaved streams
// per worker (best and median pass, one worker and all workers).
type StreamsRate struct {
	Streams           int     `json:"streams"`
	ReadGBps1         float64 `json:"read_gbps_1"`
	ReadGBps1Median   float64 `json:"read_gbps_1_median"`
	ReadGBpsAll       float64 `json:"read_gbps_all"`
	ReadGBpsAllMedian float64 `json:"read_gbps_all_median"`
}

// RooflineOptions tunes MeasureRoofline. The zero value measures properly
// (about 2-3 s on a 2-core machine).
type RooflineOptions struct {
	// Threads for the "all threads" figures; 0 means every CPU this process
	// may run on (runtime.NumCPU, which honours the affinity mask).
	Threads int
	// BufferBytes streamed per pass; 0 means max(256 MiB, 8 x LLCBytes),
	// capped at half the available memory.
	BufferBytes int64
	// LLCBytes sizes the default buffer; 0 means read it from /sys.
	LLCBytes int64
	// Passes timed per figure; 0 means 10 for bandwidth (STREAM's NTIMES)
	// and 5 for FMA.
	Passes int
	// FMAPass is the target duration of one FMA pass; 0 means 100 ms.
	FMAPass time.Duration
	// Pin locks each worker goroutine to its OS thread and that thread to
	// one CPU, so the scheduler cannot stack two workers on one core.
	Pin bool
	// Quick uses a 16 MiB buffer, 3 passes and 10 ms FMA passes: for tests
	// and smoke runs. The bandwidth it reports is partly cache bandwidth,
	// so a quick roofline is never cached.
	Quick bool
}

// loops are the measured kernels; tests substitute instrumented ones.
type loops struct {
	// streamRead reads a buffer as k interleaved streams (k from streams)
	// and returns its checksum, which must not depend on k.
	streamRead   func(buf []byte, k int) uint64
	streams      []int
	fmaPeak      func(int) float32
	flopsPerIter int
	isa          string
}

func kernelLoops() loops {
	return loops{kernels.StreamReadStreams, kernels.ReadStreamCounts(), kernels.FMAPeak, kernels.FMAFlopsPerIter(), kernels.RooflineISA()}
}

// MeasureRoofline measures memory read bandwidth and FP32 FMA throughput
// with one thread and with all threads, using the kernels package's loops
// (kernels.RooflineISA names the code that ran). It honours ctx between
// passes.
func MeasureRoofline(ctx context.Context, opt RooflineOptions) (Roofline, error) {
	return measureRoofline(ctx, opt, kernelLoops())
}

const (
	minStreamBuffer = 256 << 20
	quickBuffer     = 16 << 20
	// chunkAlign keeps every worker's slice on its own cache lines and
	// pages, and a multiple of 8 so StreamRead checksums add up.
	chunkAlign = 4096
)

// streamBufferSize picks the bandwidth buffer: far larger than the last-level
// cache (8x, at least 256 MiB) so passes measure DRAM, not cache; at most half
// of the available memory so the measurement does not push the machine into
// reclaim. Notes explain any cap.
func streamBufferSize(opt RooflineOptions, llc int64, available uint64) (int64, []string) {
	if opt.BufferBytes > 0 {
		return opt.BufferBytes, nil
	}
	if opt.Quick {
		return quickBuffer, nil
	}
	var notes []string
	size := int64(minStreamBuffer)
	if 8*llc > size {
		size = 8 * llc
	}
	if available > 0 && uint64(size) > available/2 {
		size = int64(available/2) &^ (chunkAlign - 1)
		notes = append(notes, fmt.Sprintf("bandwidth buffer capped at %d MiB (half of the %d MiB available memory)",
			size>>20, available>>20))
	}
	if llc > 0 && size < 4*llc {
		notes = append(notes, fmt.Sprintf("bandwidth buffer %d MiB is under 4x the %d MiB last-level cache: figures include cache hits",
			size>>20, llc>>20))
	}
	return size, notes
}

func measureRoofline(ctx context.Context, opt RooflineOptions, l loops) (Roofline, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return Roofline{}, fmt.Errorf("device: roofline: %w", err)
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	r := Roofline{Threads: threads, ISA: l.isa, Pinned: opt.Pin, Quick: opt.Quick}
	if threads > runtime.GOMAXPROCS(0) {
		r.Notes = append(r.Notes, fmt.Sprintf("%d threads requested but GOMAXPROCS is %d: workers share CPUs",
			threads, runtime.GOMAXPROCS(0)))
	}
	bwPasses, fmaPasses, fmaPass := 10, 5, 100*time.Millisecond
	if opt.Quick {
		bwPasses, fmaPasses, fmaPass = 3, 3, 10*time.Millisecond
	}
	if opt.Passes > 0 {
		bwPasses, fmaPasses = opt.Passes, opt.Passes
	}
	if opt.FMAPass > 0 {
		fmaPass = opt.FMAPass
	}
	r.Passes = bwPasses
	r.Statistic = fmt.Sprintf("best of %d timed passes after a warm-up (STREAM convention); bandwidth %d passes, FMA %d passes",
		bwPasses, bwPasses, fmaPasses)
	if bwPasses == fmaPasses {
		r.Statistic = fmt.Sprintf("best of %d timed passes after a warm-up (STREAM convention)", bwPasses)
	}
	r.Statistic += fmt.Sprintf("; read bandwidth from the fastest of %v interleaved streams per worker", l.streams)

	llc := opt.LLCBytes
	if llc == 0 && !opt.Quick && opt.BufferBytes == 0 {
		llc = lastLevelCache("/sys/devices/system/cpu/cpu0/cache", &notes{})
	}
	var avail uint64
	if opt.BufferBytes == 0 && !opt.Quick {
		avail = availableMemory()
	}
	size, bufNotes := streamBufferSize(opt, llc, avail)
	r.Notes = append(r.Notes, bufNotes...)
	// Whole chunks per worker, so every byte is read exactly once per pass.
	unit := int64(threads) * chunkAlign
	size = (size + unit - 1) / unit * unit
	r.BufferBytes = size

	var err, pinErr error
	r.ReadByStreams, err = measureBandwidth(ctx, l, size, threads, bwPasses, opt.Pin, &pinErr)
	if err != nil {
		return Roofline{}, err
	}
	// The headline is the stream count with the fastest pass, separately for
	// one worker and for all: a matvec kernel may read any of these patterns,
	// so the best one is the ceiling.
	for _, sr := range r.ReadByStreams {
		if sr.ReadGBps1 > r.ReadGBps1 {
			r.ReadGBps1, r.ReadGBps1Median, r.ReadStreams1 = sr.ReadGBps1, sr.ReadGBps1Median, sr.Streams
		}
		if sr.ReadGBpsAll > r.ReadGBpsAll {
			r.ReadGBpsAll, r.ReadGBpsAllMedian, r.ReadStreamsAll = sr.ReadGBpsAll, sr.ReadGBpsAllMedian, sr.Streams
		}
	}
	r.FMAGFLOPS1, r.FMAGFLOPS1Median, r.FMAGFLOPSAll, r.FMAGFLOPSAllMedian, err = measureFMA(ctx, l, threads, fmaPasses, fmaPass, opt.Pin, &pinErr)
	if err != nil {
		return Roofline{}, err
	}
	if pinErr != nil {
		r.Pinned = false
		r.Notes = append(r.Notes, fmt.Sprintf("pinning failed, workers ran unpinned: %v", pinErr))
	}
	r.Duration = time.Since(start)
	r.MeasuredAt = start.UTC()
	return r, nil
}

// measureBandwidth streams a buffer of size bytes, for every stream count of
// l: one worker reading all of it, then threads workers each reading its own
// contiguous slice, each worker reading its part as that many interleaved
// streams. The stream counts take turns pass by pass (not all passes of one
// count, then the next), so that a busy spell on a shared machine lowers
// all of them alike instead of deciding which count looks fastest.
func measureBandwidth(ctx context.Context, l loops, size int64, threads, passes int, pin bool, pinFailed *error) ([]StreamsRate, error) {
	// Huge-page memory, as the kernel benchmarks' weights and --no-mmap
	// weights: the roofline is what the memory can stream, not what 4 KiB
	// pages' TLB misses leave of it (see package hugemem). free gives the
	// buffer back at once: the benchmark that follows wants the memory.
	buf, free, err := hugemem.Alloc(int(size))
	if err != nil {
		return nil, fmt.Errorf("device: roofline: %w", err)
	}
	defer free()
	// Write every page: a fresh mapping reads as the shared zero page, and
	// reading that would measure cache, not DRAM.
	fillPattern(buf)

	whole := l.streamRead(buf, 1)
	chunk := size / int64(threads)
	// k is the stream count of the current pass; it is set before a pass
	// releases the workers (a channel send), so they read it race-free.
	k := 1
	g1 := startGang(1, pin, func(int) uint64 { return l.streamRead(buf, k) })
	defer g1.stop()
	gN := startGang(threads, pin, func(i int) uint64 { return l.streamRead(buf[int64(i)*chunk:int64(i+1)*chunk], k) })
	defer gN.stop()
	times1 := make([][]time.Duration, len(l.streams))
	timesN := make([][]time.Duration, len(l.streams))
	for p := 0; p <= passes; p++ { // pass 0 warms caches, TLBs and clocks
		for i, sk := range l.streams {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("device: roofline: %w", err)
			}
			k = sk
			d1, sum1 := g1.pass()
			dN, sumN := gN.pass()
			// The checksum is a wrapping sum of words, so the slices must
			// add up to the whole: proof that every byte was read once.
			if sum1 != whole || sumN != whole {
				return nil, fmt.Errorf("device: roofline: stream checksums disagree with %d streams (whole %#x, 1 thread %#x, %d threads %#x)",
					sk, whole, sum1, threads, sumN)
			}
			if p > 0 {
				times1[i] = append(times1[i], d1)
				timesN[i] = append(timesN[i], dN)
			}
		}
	}
	for _, g := range []*gang{g1, gN} {
		if g.pinErr != nil && pinFailed != nil && *pinFailed == nil {
			*pinFailed = g.pinErr
		}
	}
	rate := func(d time.Duration) float64 { return float64(size) / d.Seconds() / 1e9 }
	rates := make([]StreamsRate, len(l.streams))
	for i, sk := range l.streams {
		sr := StreamsRate{Streams: sk}
		sr.ReadGBps1, sr.ReadGBps1Median = bestAndMedian(times1[i], rate)
		sr.ReadGBpsAll, sr.ReadGBpsAllMedian = bestAndMedian(timesN[i], rate)
		rates[i] = sr
	}
	return rates, nil
}

// measureFMA calibrates the iteration count so one pass lasts about target,
// then times passes with one worker and with threads workers.
func measureFMA(ctx context.Context, l loops, threads, passes int, target time.Duration, pin bool, pinFailed *error) (best1, med1, bestN, medN float64, err error) {
	iters := 1 << 12
	for {
		if err = ctx.Err(); err != nil {
			err = fmt.Errorf("device: roofline: %w", err)
			return
		}
		t0 := time.Now()
		sinkF32(l.fmaPeak(iters))
		d := time.Since(t0)
		if d >= target/4 || iters >= maxFMAIters {
			if d > 0 {
				iters = int(math.Min(float64(iters)*float64(target)/float64(d), maxFMAIters))
			}
			break
		}
		iters *= 4
	}
	if iters < 1 {
		iters = 1
	}
	work := func(int) uint64 { return uint64(math.Float32bits(l.fmaPeak(iters))) }
	times1, _, err := timePasses(ctx, 1, passes, pin, pinFailed, work)
	if err != nil {
		return
	}
	timesN, _, err := timePasses(ctx, threads, passes, pin, pinFailed, work)
	if err != nil {
		return
	}
	flops := float64(iters) * float64(l.flopsPerIter)
	best1, med1 = bestAndMedian(times1, func(d time.Duration) float64 { return flops / d.Seconds() / 1e9 })
	bestN, medN = bestAndMedian(timesN, func(d time.Duration) float64 { return float64(threads) * flops / d.Seconds() / 1e9 })
	return
}

var sink uint64

func sinkF32(f float32) { sink += uint64(math.Float32bits(f)) }

// timePasses runs work(i) on n workers at once for one warm-up pass and then
// passes timed passes. A pass lasts from releasing the workers until the last
// one finishes. It returns the timed durations and the wrapping sum of the
// workers' results of the last pass.
//
// A failure to pin is not fatal (the workers still run, unpinned); the first
// one is stored in *pinFailed.
func timePasses(ctx context.Context, n, passes int, pin bool, pinFailed *error, work func(i int) uint64) ([]time.Duration, uint64, error) {
	g := startGang(n, pin, work)
	defer g.stop()
	var times []time.Duration
	var sum uint64
	for p := 0; p <= passes; p++ {
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("device: roofline: %w", err)
		}
		d, s := g.pass()
		sum = s
		if p > 0 { // pass 0 warms caches, TLBs and clocks
			times = append(times, d)
		}
	}
	if g.pinErr != nil && pinFailed != nil && *pinFailed == nil {
		*pinFailed = g.pinErr
	}
	return times, sum, nil
}

// gang is a set of persistent workers released together for each pass, so
// goroutine start-up is not timed and pinned threads stay pinned.
type gang struct {
	start  []chan struct{}
	done   chan uint64
	wg     sync.WaitGroup
	pinErr error
	mu     sync.Mutex
}

func startGang(n int, pin bool, work func(i int) uint64) *gang {
	g := &gang{start: make([]chan struct{}, n), done: make(chan uint64, n)}
	cpus := allowedCPUs()
	ready := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		g.start[i] = make(chan struct{})
		g.wg.Add(1)
		go func(i int) {
			defer g.wg.Done()
			if pin {
				// Never unlocked: when this goroutine returns, its thread
				// exits with it, so the narrowed affinity cannot leak into
				// the rest of the program.
				runtime.LockOSThread()
				err := errors.New("cannot read this process's CPU affinity mask")
				if len(cpus) > 0 {
					err = pinThread(cpus[i%len(cpus)])
				}
				if err != nil {
					g.mu.Lock()
					g.pinErr = err
					g.mu.Unlock()
				}
			}
			ready <- struct{}{}
			for range g.start[i] {
				g.done <- work(i)
			}
		}(i)
	}
	for i := 0; i < n; i++ {
		<-ready
	}
	return g
}

func (g *gang) pass() (time.Duration, uint64) {
	t0 := time.Now()
	for _, c := range g.start {
		c <- struct{}{}
	}
	var sum uint64
	for range g.start {
		sum += <-g.done
	}
	return time.Since(t0), sum
}

func (g *gang) stop() {
	for _, c := range g.start {
		close(c)
	}
	g.wg.Wait()
}

// fillPattern writes a non-constant pattern into every byte of buf.
func fillPattern(buf []byte) {
	const seed = 1 << 16
	n := len(buf)
	if n > seed {
		n = seed
	}
	for i := 0; i < n; i++ {
		buf[i] = byte(i*131 + i>>8)
	}
	for filled := n; filled < len(buf); filled *= 2 {
		copy(buf[filled:], buf[:filled])
	}
}

// bestAndMedian converts pass durations to rates: the best is the fastest
// pass, the median the middle one.
func bestAndMedian(times []time.Duration, rate func(time.Duration) float64) (best, median float64) {
	if len(times) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), times...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	m := len(s) / 2
	med := s[m]
	if len(s)%2 == 0 {
		med = (s[m-1] + s[m]) / 2
	}
	for i := range s {
		if s[i] <= 0 {
			s[i] = time.Nanosecond
		}
	}
	if med <= 0 {
		med = time.Nanosecond
	}
	return rate(s[0]), rate(med)
}

// maxFMAIters bounds the calibrated FMA loop count; it must fit a 32-bit int
// (linux/arm builds) while being far more than a second of work anywhere.
const maxFMAIters = math.MaxInt32
