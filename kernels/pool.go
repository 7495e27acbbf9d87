package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool runs parallel loops on persistent goroutines, so a decode step does
// not pay for goroutine creation. For hands out chunks of [0,n) dynamically
// (an atomic counter), which keeps all threads busy when the machine is
// shared and one core runs slower than the others.
type Pool struct {
	threads int
	wake    []chan struct{} // one per worker goroutine (threads-1 of them)
	mu      sync.Mutex      // one For at a time; held for the whole loop
	wg      sync.WaitGroup
	closed  bool

	// The current loop, written by For before waking workers (the channel
	// send orders these writes before the workers' reads).
	fn     func(lo, hi int)
	n      int
	chunk  int
	chunks int64
	next   atomic.Int64
}

// NewPool starts a pool of threads goroutines (the caller of For counts as
// one of them). threads <= 0 means runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads, wake: make([]chan struct{}, threads-1)}
	for i := range p.wake {
		ch := make(chan struct{})
		p.wake[i] = ch
		go p.worker(ch)
	}
	return p
}

// Threads is the number of goroutines a For may use.
func (p *Pool) Threads() int { return p.threads }

func (p *Pool) worker(ch chan struct{}) {
	for range ch {
		p.run()
		p.wg.Done()
	}
}

// run takes chunks until none are left.
func (p *Pool) run() {
	for {
		c := p.next.Add(1) - 1
		if c >= p.chunks {
			return
		}
		lo := int(c) * p.chunk
		hi := min(lo+p.chunk, p.n)
		p.fn(lo, hi)
	}
}

// chunksPerThread trades scheduling overhead against load balance.
const chunksPerThread = 4

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
	if p.closed {
		fn(0, n)
		return
	}
	chunks := min(n, p.threads*chunksPerThread)
	p.fn = fn
	p.n = n
	p.chunk = (n + chunks - 1) / chunks
	p.chunks = int64((n + p.chunk - 1) / p.chunk)
	p.next.Store(0)
	workers := min(p.threads-1, int(p.chunks)-1)
	p.wg.Add(workers)
	for i := 0; i < workers; i++ {
		p.wake[i] <- struct{}{}
	}
	p.run()
	p.wg.Wait()
	p.fn = nil // do not keep the caller's closure alive
}

// Close stops the worker goroutines. Later For calls run serially.
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	for _, ch := range p.wake {
		close(ch)
	}
}
