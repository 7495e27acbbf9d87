package hugemem

import "testing"

// TestAlloc: the buffer has the size asked, starts zeroed, holds what is
// written; sizes 0 and negative give an empty buffer and a free that works.
func TestAlloc(t *testing.T) {
	for _, size := range []int{1, 4096, 3<<20 + 5} {
		b, free, err := Alloc(size)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != size {
			t.Fatalf("size %d: got %d bytes", size, len(b))
		}
		for i := 0; i < size; i += 997 {
			if b[i] != 0 {
				t.Fatalf("size %d: byte %d is %d, want a zeroed buffer", size, i, b[i])
			}
			b[i] = byte(i)
		}
		for i := 0; i < size; i += 997 {
			if b[i] != byte(i) {
				t.Fatalf("size %d: byte %d lost its value", size, i)
			}
		}
		free()
	}
	for _, size := range []int{0, -1} {
		b, free, err := Alloc(size)
		if err != nil || len(b) != 0 {
			t.Fatalf("size %d: %d bytes, %v", size, len(b), err)
		}
		free()
	}
}
