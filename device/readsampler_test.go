package device

import (
	"math"
	"strings"
	"sync/atomic"
	"testing"
)

func TestReadSamplerReadsEveryByte(t *testing.T) {
	var read atomic.Int64
	l := portableLoops(&read)
	var streams atomic.Int64
	inner := l.streamRead
	l.streamRead = func(b []byte, k int) uint64 {
		streams.Store(int64(k))
		return inner(b, k)
	}
	s, err := newReadSampler(l, 3, 4, 100<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 100 KiB rounded up to whole 4 KiB chunks for 3 workers.
	if s.Bytes() != 3*4096*9 {
		t.Fatalf("Bytes = %d, want %d", s.Bytes(), 3*4096*9)
	}
	// The checksum read of the whole buffer and the warm-up pass.
	if read.Load() != 2*s.Bytes() {
		t.Fatalf("set-up read %d bytes, want %d", read.Load(), 2*s.Bytes())
	}
	for i := 0; i < 3; i++ {
		gbps, err := s.Sample()
		if err != nil || !(gbps > 0) || math.IsInf(gbps, 0) {
			t.Fatalf("sample %d: %v GB/s, %v", i, gbps, err)
		}
	}
	if read.Load() != 5*s.Bytes() || streams.Load() != 4 {
		t.Fatalf("read %d bytes with %d streams, want %d with 4", read.Load(), streams.Load(), 5*s.Bytes())
	}
}

func TestReadSamplerDetectsMissedBytes(t *testing.T) {
	var read atomic.Int64
	l := portableLoops(&read)
	l.streamRead = func(b []byte, _ int) uint64 { return 1 } // slices would not add up
	if _, err := newReadSampler(l, 2, 2, 64<<10); err == nil || !strings.Contains(err.Error(), "checksums disagree") {
		t.Fatalf("err = %v, want checksum mismatch", err)
	}
	if _, err := NewReadSampler(0, 1, 1<<20); err == nil {
		t.Fatal("0 threads accepted")
	}
}

// The real loops, on a small buffer: every stream count the roofline tries.
func TestReadSamplerKernels(t *testing.T) {
	for _, k := range []int{1, 2, 4, 8} {
		s, err := NewReadSampler(2, k, 1<<20+12345)
		if err != nil {
			t.Fatalf("%d streams: %v", k, err)
		}
		gbps, err := s.Sample()
		s.Close()
		if err != nil || !(gbps > 0) {
			t.Fatalf("%d streams: %v GB/s, %v", k, gbps, err)
		}
	}
}
