package runners

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/edgebench/edgebench/hugemem"
	"github.com/edgebench/edgebench/results"
	"github.com/edgebench/edgebench/transformer"
)

// peakRSS tracks the process's resident-set high-water mark per cell. Linux
// keeps it as VmHWM and lets a process reset it by writing "5" to
// /proc/self/clear_refs (since 4.0), which gives a per-cell peak rather than
// the whole run's.
type peakRSS struct {
	resetErr error
}

// reset returns freed memory to the OS first, so the previous cell's
// garbage does not count against this one, then resets the high-water mark.
func (p *peakRSS) reset() {
	runtime.GC()
	debug.FreeOSMemory()
	p.resetErr = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// read returns the peak RSS in bytes since reset, or why it is unavailable.
func (p *peakRSS) read() (uint64, error) {
	if runtime.GOOS != "linux" {
		return 0, fmt.Errorf("peak RSS per cell needs Linux's /proc/self/status VmHWM (this is %s)", runtime.GOOS)
	}
	if p.resetErr != nil {
		return 0, fmt.Errorf("could not reset the peak RSS counter: %v", p.resetErr)
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("VmHWM:")) {
			continue
		}
		f := bytes.Fields(line[len("VmHWM:"):])
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("unexpected VmHWM line %q", line)
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmHWM line %q", line)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("/proc/self/status has no VmHWM line")
}

// memoryMetrics are a cell's memory figures: the peak RSS since rss.reset,
// how much of the memory the weights are read from sits on huge pages
// (decode streams it once per token, and on 4 KiB pages pays a TLB miss
// every 4 KiB: on a 2-vCPU Zen 4 VM, SmolLM2-135M q4_0 decoded at about 300
// tok/s from a mapping on 4 KiB pages against about 355 from 2 MiB ones),
// the weights' bytes and their bits per weight. warning is set when the
// weights are mapped from the file (not noMmap) mostly on small pages
// although the kernel hands out huge pages: the file's page cache holds it
// in small pieces, and the cell's decode is slower than it need be.
func memoryMetrics(rss *peakRSS, m *transformer.Model, info *results.ModelInfo, noMmap bool) (out []results.Metric, warning string) {
	if peak, err := rss.read(); err == nil {
		out = append(out, single(results.MetricPeakRSS, "B", "lower", float64(peak), results.SourceMeasured))
	} else {
		out = append(out, unavailable(results.MetricPeakRSS, "B", err.Error()))
	}
	w := m.WeightMemory()
	if cov, err := hugemem.Measure(w); err == nil {
		pct := cov.HugePct()
		out = append(out, single(results.MetricWeightsHugePct, "%", "", pct, results.SourceMeasured))
		if !noMmap && pct < 50 && len(w) >= smallPagesMinBytes && hugemem.THPEnabled() {
			warning = fmt.Sprintf("only %.0f%% of the mapped weights are on huge pages: the page cache holds the file in small pieces (copied with small writes, or a filesystem without large folios), so decode pays TLB misses; --no-mmap copies the weights to huge pages", pct)
		}
	} else {
		out = append(out, unavailable(results.MetricWeightsHugePct, "%", err.Error()))
	}
	return append(out,
		single(results.MetricModelBytes, "B", "", float64(info.WeightBytes), results.SourceMeasured),
		single(results.MetricBitsPerWgt, "bit", "", info.BitsPerWeight, results.SourceDerived)), warning
}

// smallPagesMinBytes: below this, weights span a few huge pages at most and
// their page size does not matter.
const smallPagesMinBytes = 16 << 20
