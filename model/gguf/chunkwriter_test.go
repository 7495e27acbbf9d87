package gguf

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// recordWriter keeps each write's length and the bytes, and can fail.
type recordWriter struct {
	lens []int
	all  bytes.Buffer
	err  error
}

func (r *recordWriter) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.lens = append(r.lens, len(p))
	return r.all.Write(p)
}

// TestChunkWriter: whatever the sizes of the writes it is given (tiny
// header fields, tensors larger than a chunk, exact chunks), the file gets
// the same bytes in writes of exactly chunkSize, and one shorter write at
// the end from Flush.
func TestChunkWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var want bytes.Buffer
	rec := &recordWriter{}
	cw := newChunkWriter(rec)
	for _, n := range []int{1, 8, 0, 3, chunkSize, 5 << 20, chunkSize - 12, 77, 9 << 20} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		want.Write(p)
		if k, err := cw.Write(p); k != n || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", n, k, err)
		}
	}
	if err := cw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := cw.Flush(); err != nil || len(rec.lens) == 0 {
		t.Fatalf("second Flush: %v", err)
	}
	if !bytes.Equal(rec.all.Bytes(), want.Bytes()) {
		t.Fatal("bytes written differ from bytes given")
	}
	last := len(rec.lens) - 1
	for i, n := range rec.lens[:last] {
		if n != chunkSize {
			t.Fatalf("write %d of %d has %d bytes, want %d", i, len(rec.lens), n, chunkSize)
		}
	}
	if tail := want.Len() % chunkSize; rec.lens[last] != tail {
		t.Fatalf("last write has %d bytes, want the %d left over", rec.lens[last], tail)
	}
}

// TestChunkWriterError: a failed write is returned, by Write when a chunk
// fills and by Flush.
func TestChunkWriterError(t *testing.T) {
	boom := errors.New("disk full")
	cw := newChunkWriter(&recordWriter{err: boom})
	if _, err := cw.Write(make([]byte, 10)); err != nil {
		t.Fatalf("a buffered write failed early: %v", err)
	}
	if err := cw.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush: %v, want %v", err, boom)
	}
	if _, err := cw.Write(make([]byte, chunkSize)); !errors.Is(err, boom) {
		t.Fatalf("Write of a chunk: %v, want %v", err, boom)
	}
}
