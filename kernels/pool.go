package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs parallel loops on persistent goroutines, so a decode step does
// not pay for goroutine creation. For hands out chunks of [0,n) dynamically
// (an atomic counter), which keeps all threads busy when the machine is
// shared and one core runs slower than the others.
//
// A decode step issues a few hundred loops of 5-100 µs each with a few µs of
// serial work between them. Waking a parked goroutine costs a futex wake-up
// and a reschedule (measured 10-50 µs on a 2-vCPU VM), as long as a whole
// small loop, so after each loop the workers spin on the job word for
// SpinTime before they park: within a token they never sleep, and an idle
// pool costs at most SpinTime of CPU per worker before it goes quiet. While
// spinning a worker yields its P every few µs (runtime.Gosched), so other
// goroutines of the program are delayed by at most that, not starved.
type Pool struct {
	threads int
	workers []*poolWorker
	mu      sync.Mutex // one For at a time; held for the whole loop
	closed  atomic.Bool

	// job is the current loop's word: generation (bits 40-63), number of
	// chunks (bits 20-39) and next unclaimed chunk (bits 0-19). Claiming a
	// chunk is a compare-and-swap on the whole word, so a worker that
	// wakes late and sees an older generation, or a finished one, can never
	// claim a chunk of a loop it did not see start.
	job atomic.Uint64
	_   [56]byte // keep the claim word and the done counter on their own lines
	// done counts finished chunks of the current loop; For returns when it
	// reaches the chunk count. The fields below are written by For before
	// it publishes a generation and read only by holders of a claimed chunk,
	// so they are stable while anyone reads them.
	done atomic.Int64
	_    [56]byte
	fn   func(lo, hi int)
	n    int
	step int
}

// poolWorker is one worker goroutine's parking state, on its own cache line.
type poolWorker struct {
	wake     chan struct{} // capacity 1: at most one wake-up is in flight
	sleeping atomic.Int32  // 1 while parked (or about to park) on wake
	_        [52]byte
}

const (
	jobGenShift   = 40
	jobCountShift = 20
	jobFieldMask  = 1<<20 - 1
	// maxChunks bounds the chunks of one loop so the count fits its field.
	maxChunks = jobFieldMask
)

// SpinTime is how long an idle worker polls for the next loop before it
// parks. It covers the gaps inside and between decode steps; beyond it the
// pool costs nothing.
const SpinTime = 100 * time.Microsecond

// yieldEvery is how often a spinning goroutine yields its P (in polls of
// the job word, about a µs).
const yieldEvery = 512

// NewPool starts a pool of threads goroutines (the caller of For counts as
// one of them). threads <= 0 means runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads}
	for i := 0; i < threads-1; i++ {
		w := &poolWorker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.worker(w)
	}
	return p
}

// Threads is the number of goroutines a For may use.
func (p *Pool) Threads() int { return p.threads }

func (p *Pool) worker(w *poolWorker) {
	seen := p.job.Load() >> jobGenShift
	for {
		gen := p.job.Load() >> jobGenShift
		if gen == seen {
			if p.closed.Load() {
				return
			}
			gen = p.spin(seen)
			if gen == seen {
				// Park. Announce it first, then look again: For publishes
				// the job before it checks sleeping, and both are
				// sequentially consistent, so either this load sees the
				// new generation or For sees sleeping == 1 and wakes us.
				w.sleeping.Store(1)
				if p.job.Load()>>jobGenShift == seen && !p.closed.Load() {
					<-w.wake
					continue
				}
				if !w.sleeping.CompareAndSwap(1, 0) {
					<-w.wake // For already committed to waking us: take its token
				}
				continue
			}
		}
		seen = gen
		p.run(gen)
	}
}

// spin polls the job word for a generation other than seen for up to
// SpinTime and returns the last generation it read.
func (p *Pool) spin(seen uint64) uint64 {
	start := time.Now()
	for i := 1; ; i++ {
		if g := p.job.Load() >> jobGenShift; g != seen {
			return g
		}
		if i%yieldEvery == 0 {
			if time.Since(start) > SpinTime || p.closed.Load() {
				return seen
			}
			runtime.Gosched()
		}
	}
}

// run claims and runs chunks of generation gen until none are left.
func (p *Pool) run(gen uint64) {
	for {
		j := p.job.Load()
		if j>>jobGenShift != gen {
			return
		}
		next, count := j&jobFieldMask, (j>>jobCountShift)&jobFieldMask
		if next >= count {
			return
		}
		if !p.job.CompareAndSwap(j, j+1) {
			continue
		}
		lo := int(next) * p.step
		p.fn(lo, min(lo+p.step, p.n))
		p.done.Add(1)
	}
}

// For calls fn on disjoint ranges [lo,hi) that together cover [0,n), in
// parallel, and returns when all calls have returned. It allocates nothing.
// A For issued while another is running on the same pool (from another
// goroutine, or nested inside fn) runs serially on its caller instead of
// deadlocking; so does a For on a closed pool.
func (p *Pool) For(n int, fn func(lo, hi int)) {
	p.ForChunks(n, 1, fn)
}

// chunksPerThread trades scheduling overhead against load balance.
const chunksPerThread = 4

// ForChunks is For with ranges whose bounds are multiples of align (except
// the last hi, which is n): callers whose kernels take rows in groups keep
// their groups whole. align < 1 means 1.
func (p *Pool) ForChunks(n, align int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	align = max(align, 1)
	if p.threads == 1 || n <= align || !p.mu.TryLock() {
		fn(0, n)
		return
	}
	defer p.mu.Unlock()
	if p.closed.Load() {
		fn(0, n)
		return
	}
	units := (n + align - 1) / align
	chunks := min(units, p.threads*chunksPerThread, maxChunks)
	step := (units + chunks - 1) / chunks * align
	chunks = (n + step - 1) / step
	p.fn, p.n, p.step = fn, n, step
	p.done.Store(0)
	gen := p.job.Load()>>jobGenShift + 1
	p.job.Store(gen<<jobGenShift | uint64(chunks)<<jobCountShift)
	for i, w := range p.workers {
		if i >= chunks-1 {
			break // the caller and i workers already cover every chunk
		}
		if w.sleeping.CompareAndSwap(1, 0) {
			w.wake <- struct{}{}
		}
	}
	p.run(gen)
	// Wait for chunks other threads are still running. They are short
	// (a few µs), so spin; yield now and then in case one of them was
	// descheduled and needs this P.
	for i := 1; p.done.Load() != int64(chunks); i++ {
		if i%yieldEvery == 0 {
			runtime.Gosched()
		}
	}
	p.fn = nil // do not keep the caller's closure alive
}

// Close stops the worker goroutines. Later For calls run serially.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Swap(true) {
		return
	}
	for _, w := range p.workers {
		if w.sleeping.CompareAndSwap(1, 0) {
			w.wake <- struct{}{}
		}
	}
}
