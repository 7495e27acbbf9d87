package main

import "github.com/edgebench/edgebench/device"

// Paired read bandwidth: short samples of the roofline's read loop taken
// next to a measurement (between a kernel's repetitions, before and after
// a run cell), so memory-bound figures have a denominator of their own
// moment on a machine whose bandwidth drifts.

// readSampler takes the paired read-bandwidth samples; tests substitute a
// scripted one for device.ReadSampler.
type readSampler interface {
	Sample() (float64, error)
	Bytes() int64
	Close()
}

var newReadSampler = func(threads, streams int, size int64) (readSampler, error) {
	return device.NewReadSampler(threads, streams, size)
}

// readStreams is the interleaved streams per worker the roofline's headline
// read figure used at threads (1 or all), so paired samples read as it did.
func readStreams(roof *device.Roofline, threads int) int {
	if threads == 1 {
		return max(roof.ReadStreams1, 1)
	}
	return max(roof.ReadStreamsAll, 1)
}

// cellPairedSamples is how many read-bandwidth samples a run cell takes
// before it loads and again after its measurements: a few ms each.
const cellPairedSamples = 3

// cellPairedRead is runners.CellOptions.PairedRead for a run: a sampler
// built for the cell's thread count (a buffer of the kernels' footprint,
// the roofline's stream count), cellPairedSamples passes, then released so
// the cell's memory does not carry it.
func cellPairedRead(roof *device.Roofline, fp device.Fingerprint) func(threads int) ([]float64, error) {
	return func(threads int) ([]float64, error) {
		s, err := newReadSampler(threads, readStreams(roof, threads), int64(footprint(0, fp)))
		if err != nil {
			return nil, err
		}
		defer s.Close()
		out := make([]float64, 0, cellPairedSamples)
		for range cellPairedSamples {
			g, err := s.Sample()
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	}
}

// pairedFor is the cells' paired read sampler: none without a roofline
// (its stream counts say how to read) or with --no-paired.
func pairedFor(roof *device.Roofline, fp device.Fingerprint, off bool) func(int) ([]float64, error) {
	if roof == nil || off {
		return nil
	}
	return cellPairedRead(roof, fp)
}
