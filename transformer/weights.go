package transformer

import (
	"fmt"
	"io"
	"os"

	"github.com/edgebench/edgebench/hugemem"
	"github.com/edgebench/edgebench/model/gguf"
)

// weightCopy holds the tensors Load copied out of the file when
// Options.NoMmap is set: one region of anonymous memory (advised for
// transparent huge pages where the OS has them, see hugemem.Alloc) into
// which each tensor is read once, on first use.
//
// Why: a decode streams every weight once per token, and with 4 KiB pages
// (what a file mapping gets where the page cache holds the file in small
// folios: older kernels, filesystems without large folios, or a file
// written in small pieces, see gguf's chunkWriter) that stream costs a TLB
// miss, and on a VM a nested page walk, every 4 KiB, and the hardware
// prefetchers restart at every page.
// Measured 2026-11 on a 2-vCPU Zen 4 VM (KVM, THP "madvise"), 2 threads,
// neighbours loading the machine: BenchmarkDecodeMemAB's median per-pair
// speedup over the mapping was 1.27 (SmolLM2-135M q8_0), 1.10 (q4_0), 1.31
// (Llama-3.2-1B q8_0) and 1.38 (q4_0); BenchmarkReadBandwidthTHP streams
// 28 GB/s from huge pages against 19 GB/s from 4 KiB ones.
type weightCopy struct {
	buf  []byte
	off  int
	free func()
	data map[string][]byte // copied tensors by name
	src  *os.File          // the file, read with pread; nil: copy from the mapping
}

// copyAlign aligns each copied tensor (a cache line and more).
const copyAlign = 4096

// newWeightCopy sizes the region for every tensor of f. Tensors the model
// never reads are not copied, and their share of the region is never
// touched, so costs no memory.
func newWeightCopy(f *gguf.File) (*weightCopy, error) {
	size := 0
	for i := range f.Tensors {
		size += (len(f.Tensors[i].Data) + copyAlign - 1) / copyAlign * copyAlign
	}
	buf, free, err := hugemem.Alloc(size)
	if err != nil {
		return nil, fmt.Errorf("transformer: %s: no-mmap: %w", f.Path, err)
	}
	wc := &weightCopy{buf: buf, free: free, data: map[string][]byte{}}
	// Read the tensors from the file rather than from its mapping, so the
	// file's pages are not mapped into this process as well (they would
	// double its resident size). A File parsed from memory has no file of
	// its size on disk: copy from memory then.
	if fh, err := os.Open(f.Path); err == nil {
		if st, err := fh.Stat(); err == nil && st.Size() == f.Size {
			wc.src = fh
		} else {
			fh.Close()
		}
	}
	return wc, nil
}

// tensor returns the copy of ti, reading it on first use.
func (wc *weightCopy) tensor(f *gguf.File, ti *gguf.TensorInfo) ([]byte, error) {
	if d, ok := wc.data[ti.Name]; ok {
		return d, nil
	}
	n := len(ti.Data)
	if wc.off+n > len(wc.buf) {
		return nil, fmt.Errorf("transformer: %s: no-mmap: tensor %s does not fit the copy region", f.Path, ti.Name)
	}
	d := wc.buf[wc.off : wc.off+n : wc.off+n]
	wc.off += (n + copyAlign - 1) / copyAlign * copyAlign
	if wc.src != nil {
		if _, err := wc.src.ReadAt(d, int64(f.DataOffset+ti.Offset)); err != nil && !(err == io.EOF && n == 0) {
			return nil, fmt.Errorf("transformer: %s: no-mmap: reading tensor %s: %w", f.Path, ti.Name, err)
		}
	} else {
		copy(d, ti.Data)
	}
	wc.data[ti.Name] = d
	return d, nil
}

// done closes the file once every tensor is read.
func (wc *weightCopy) done() {
	if wc.src != nil {
		wc.src.Close()
		wc.src = nil
	}
}

// release frees the region; no tensor may be used afterwards.
func (wc *weightCopy) release() {
	wc.done()
	if wc.free != nil {
		wc.free()
		wc.free = nil
	}
	wc.buf, wc.data = nil, nil
}
