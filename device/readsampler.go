package device

import (
	"fmt"
	"time"

	"github.com/edgebench/edgebench/hugemem"
)

// ReadSampler takes short read-bandwidth samples with the roofline's own
// loop (kernels.StreamReadStreams) and worker gang, for pairing with a
// benchmark: on a machine whose bandwidth drifts with its neighbours, a
// roofline measured minutes earlier is no fair denominator, while samples
// taken between a kernel's repetitions see the same machine state as the
// kernel did. One sample is one pass over the buffer by all workers, each
// reading its own slice as a fixed number of interleaved streams.
type ReadSampler struct {
	l       loops
	buf     []byte
	free    func() // unmaps buf
	gang    *gang
	streams int
	whole   uint64
}

// NewReadSampler allocates and fills a buffer of about size bytes (rounded
// up to whole 4 KiB chunks per worker; it should be well beyond the
// last-level cache, so samples measure DRAM) and starts threads workers
// that each read their slice as streams interleaved streams. It runs one
// untimed warm-up pass. Close releases the workers and the buffer.
func NewReadSampler(threads, streams int, size int64) (*ReadSampler, error) {
	return newReadSampler(kernelLoops(), threads, streams, size)
}

func newReadSampler(l loops, threads, streams int, size int64) (*ReadSampler, error) {
	if threads < 1 || streams < 1 || size < 1 {
		return nil, fmt.Errorf("device: read sampler: want threads, streams and size >= 1 (got %d, %d, %d)", threads, streams, size)
	}
	unit := int64(threads) * chunkAlign
	size = (size + unit - 1) / unit * unit
	// The roofline's kind of memory (hugemem), so samples and roofline agree.
	buf, free, err := hugemem.Alloc(int(size))
	if err != nil {
		return nil, fmt.Errorf("device: read sampler: %w", err)
	}
	s := &ReadSampler{l: l, buf: buf, free: free, streams: streams}
	// Write every page: a fresh mapping reads as the shared zero page.
	fillPattern(s.buf)
	s.whole = l.streamRead(s.buf, 1)
	chunk := size / int64(threads)
	s.gang = startGang(threads, false, func(i int) uint64 {
		return l.streamRead(s.buf[int64(i)*chunk:int64(i+1)*chunk], streams)
	})
	if _, err := s.Sample(); err != nil { // warm-up: TLBs, clocks
		s.Close()
		return nil, err
	}
	return s, nil
}

// Sample times one pass over the buffer and returns the read bandwidth in
// GB/s (1e9 bytes per second). An error means the workers' checksums do not
// add up to the buffer's: some bytes were not read.
func (s *ReadSampler) Sample() (float64, error) {
	d, sum := s.gang.pass()
	if sum != s.whole {
		return 0, fmt.Errorf("device: read sampler: stream checksums disagree with %d streams (whole %#x, workers %#x)", s.streams, s.whole, sum)
	}
	return float64(len(s.buf)) / max(d, time.Nanosecond).Seconds() / 1e9, nil
}

// Bytes is the size of one sample's pass.
func (s *ReadSampler) Bytes() int64 { return int64(len(s.buf)) }

// Streams is the interleaved streams each worker reads.
func (s *ReadSampler) Streams() int { return s.streams }

// Close stops the workers and gives the buffer back to the OS now, since
// the benchmark that follows wants the memory.
func (s *ReadSampler) Close() {
	if s.gang != nil {
		s.gang.stop()
		s.gang = nil
	}
	if s.free != nil {
		s.free()
		s.free = nil
	}
	s.buf = nil
}
