package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs parallel loops on persistent goroutines, so a decode step does
// not pay for goroutine creation.
//
// Each loop's index space is split into one contiguous range per thread.
// A thread runs its own range front to back in a few sub-chunks, so its
// weight rows stream from memory as one sequential run (the hardware
// prefetchers stay locked on); a thread that runs out of work steals half
// of what is left at the back of another thread's range, which keeps the
// loop balanced when one thread is slow or descheduled on a shared machine.
// (Handing out eight interleaved chunks per loop from one counter measured
// 10-15% slower end to end on a SmolLM2-135M decode: every chunk restarts a
// memory stream.)
//
// A decode step issues a few hundred loops of 5-100 µs each with a few µs of
// serial work between them. Waking a parked goroutine costs a futex wake-up
// and a reschedule (measured 10-50 µs on a 2-vCPU VM), as long as a whole
// small loop, so after each loop the workers spin on the generation word for
// SpinTime before they park: within a token they never sleep, and an idle
// pool costs at most SpinTime of CPU per worker before it goes quiet. While
// spinning a worker yields its P about every µs (runtime.Gosched), so other
// goroutines of the program are delayed by that much, not starved.
type Pool struct {
	threads int
	workers []*poolWorker
	mu      sync.Mutex // one For at a time; held for the whole loop
	closed  atomic.Bool

	// gen is the generation of the loop in flight, bumped by For after the
	// ranges are set: the workers' wake-up signal.
	gen atomic.Uint64
	_   [56]byte
	// done counts finished units of the current loop; For returns when it
	// reaches units.
	done atomic.Int64
	_    [56]byte
	// ranges[i] is thread i's remaining range (the caller is thread 0).
	ranges []poolRange
	// The loop: written by For before it publishes a generation, read only
	// by holders of a claimed range (a successful compare-and-swap on a
	// word of that generation), so stable while anyone reads them.
	fn    func(lo, hi int)
	n     int
	step  int // indices per unit
	units int64
}

// poolRange is one thread's remaining range of units, packed as generation
// (bits 40-63), lo (bits 20-39) and hi (bits 0-19). Claims are
// compare-and-swaps on the whole word, so a claim by a thread that saw an
// older generation fails; the owner takes from lo, thieves from hi.
type poolRange struct {
	w atomic.Uint64
	_ [56]byte
}

// poolWorker is one worker goroutine's parking state, on its own cache line.
type poolWorker struct {
	wake     chan struct{} // capacity 1: at most one wake-up is in flight
	sleeping atomic.Int32  // 1 while parked (or about to park) on wake
	_        [52]byte
}

const (
	rangeGenShift = 40
	rangeLoShift  = 20
	rangeMask     = 1<<20 - 1
	// maxUnits bounds the units of one loop so lo and hi fit their fields;
	// longer loops give each unit several indices.
	maxUnits = rangeMask
	genMask  = 1<<24 - 1
	// ownChunks is how many pieces a thread cuts its own range into: the
	// granularity at which others can steal from it.
	ownChunks = 8
)

func packRange(gen uint64, lo, hi int64) uint64 {
	return gen<<rangeGenShift | uint64(lo)<<rangeLoShift | uint64(hi)
}

func unpackRange(w uint64) (gen uint64, lo, hi int64) {
	return w >> rangeGenShift, int64(w>>rangeLoShift) & rangeMask, int64(w) & rangeMask
}

// SpinTime is how long an idle worker polls for the next loop before it
// parks. It covers the serial gaps between the loops of a decode step (a
// few µs; ~10 µs for a 1B model's 8192-wide activation quantization).
// Longer spins cost more than they save on a shared machine: there the
// spinning worker takes CPU time from the process's own caller thread
// (measured at load 5 on 2 vCPUs: 100 µs was ~8% slower than 20 µs, and
// no faster on an otherwise idle machine).
const SpinTime = 50 * time.Microsecond

// yieldEvery is how often a spinning goroutine yields its P (in polls of
// the generation word, about a µs).
const yieldEvery = 512

// NewPool starts a pool of threads goroutines (the caller of For counts as
// one of them). threads <= 0 means runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads, ranges: make([]poolRange, threads)}
	for i := 1; i < threads; i++ {
		w := &poolWorker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.worker(i, w, p.gen.Load())
	}
	return p
}

// Threads is the number of goroutines a For may use.
func (p *Pool) Threads() int { return p.threads }

// worker runs thread self's share of every loop after generation seen.
// seen is read before the goroutine starts: a worker that read it itself
// could see a loop that was published before it ran as already seen, and
// leave that loop's range to the other threads' stealing.
func (p *Pool) worker(self int, w *poolWorker, seen uint64) {
	for {
		gen := p.gen.Load()
		if gen == seen {
			if p.closed.Load() {
				return
			}
			gen = p.spin(seen)
			if gen == seen {
				// Park. Announce it first, then look again: For publishes
				// the generation before it checks sleeping, and both are
				// sequentially consistent, so either this load sees the
				// new generation or For sees sleeping == 1 and wakes us.
				w.sleeping.Store(1)
				if p.gen.Load() == seen && !p.closed.Load() {
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
		p.work(self, gen)
	}
}

// spin polls the generation for one other than seen for up to SpinTime and
// returns the last generation it read.
func (p *Pool) spin(seen uint64) uint64 {
	start := time.Now()
	for i := 1; ; i++ {
		if g := p.gen.Load(); g != seen {
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

// work runs thread self's share of loop gen: its own range front to back,
// then halves stolen from the back of the others' ranges, until every range
// is empty (or the loop is over). The units it ran are added to done once,
// at the end: one atomic add on the shared counter per thread and loop
// instead of one per piece (each add moves done's cache line between cores,
// ~100 ns on a VM, and a loop has up to 2×ownChunks pieces per thread).
func (p *Pool) work(self int, gen uint64) {
	ran := p.workRanges(self, gen)
	if ran > 0 {
		p.done.Add(ran)
	}
}

// workRanges runs pieces of loop gen for work and returns how many units
// it ran.
func (p *Pool) workRanges(self int, gen uint64) (ran int64) {
	own := &p.ranges[self].w
	piece := int64(0)
	for {
		w := own.Load()
		g, lo, hi := unpackRange(w)
		if g != gen || lo >= hi {
			break
		}
		if piece == 0 {
			piece = max(1, (hi-lo+ownChunks-1)/ownChunks)
		}
		end := min(lo+piece, hi)
		if own.CompareAndSwap(w, packRange(gen, end, hi)) {
			p.runUnits(lo, end)
			ran += end - lo
		}
	}
	for k := 1; k < p.threads; k++ {
		victim := &p.ranges[(self+k)%p.threads].w
		for {
			w := victim.Load()
			g, lo, hi := unpackRange(w)
			if g != gen {
				return ran // the loop is over
			}
			if lo >= hi {
				break
			}
			start := hi - max(1, (hi-lo)/2)
			if victim.CompareAndSwap(w, packRange(gen, lo, start)) {
				p.runUnits(start, hi)
				ran += hi - start
			}
		}
	}
	return ran
}

// runUnits runs units [lo,hi) of the loop in flight.
func (p *Pool) runUnits(lo, hi int64) {
	a := int(lo) * p.step
	p.fn(a, min(int(hi)*p.step, p.n))
}

// For calls fn on disjoint ranges [lo,hi) that together cover [0,n), in
// parallel, and returns when all calls have returned. It allocates nothing.
// A For issued while another is running on the same pool (from another
// goroutine, or nested inside fn) runs serially on its caller instead of
// deadlocking; so does a For on a closed pool.
func (p *Pool) For(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if p.threads == 1 || n == 1 || !p.mu.TryLock() {
		fn(0, n)
		return
	}
	defer p.mu.Unlock()
	if p.closed.Load() {
		fn(0, n)
		return
	}
	step := (n + maxUnits - 1) / maxUnits
	units := int64((n + step - 1) / step)
	p.fn, p.n, p.step, p.units = fn, n, step, units
	p.done.Store(0)
	gen := (p.gen.Load() + 1) & genMask
	t := int64(p.threads)
	for i := range p.ranges {
		p.ranges[i].w.Store(packRange(gen, int64(i)*units/t, int64(i+1)*units/t))
	}
	p.gen.Store(gen)
	for i, w := range p.workers {
		if int64(i+1) >= units {
			break // threads beyond the unit count have empty ranges
		}
		// A plain load first: a spinning worker leaves sleeping at 0, and
		// a compare-and-swap would take the line exclusive every loop.
		if w.sleeping.Load() == 1 && w.sleeping.CompareAndSwap(1, 0) {
			w.wake <- struct{}{}
		}
	}
	p.work(0, gen)
	// Wait for pieces other threads are still running. They are short
	// (a few µs), so spin; yield now and then in case one of them was
	// descheduled and needs this P.
	for i := 1; p.done.Load() != units; i++ {
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
