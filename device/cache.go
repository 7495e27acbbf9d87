package device

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/edgebench/edgebench/kernels"
)

// cacheVersion changes when the meaning of a cached roofline changes. 2: read
// bandwidth is the fastest of several interleaved-stream counts (version 1
// read one stream per worker and was below what matvec kernels reach). 3:
// the read buffer is huge-page memory (hugemem; version 2 read 4 KiB pages,
// about 1.5x slower on a VM).
const cacheVersion = 3

// RooflineCache stores measured rooflines, one JSON file per fingerprint
// hash, so `edgebench run` need not re-measure on every start.
type RooflineCache struct {
	Dir string
}

// DefaultCache is os.UserCacheDir()/edgebench ($XDG_CACHE_HOME/edgebench or
// ~/.cache/edgebench on Linux).
func DefaultCache() (RooflineCache, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return RooflineCache{}, fmt.Errorf("device: roofline cache: %w", err)
	}
	return RooflineCache{Dir: filepath.Join(d, "edgebench")}, nil
}

type cacheFile struct {
	Version         int         `json:"version"`
	FingerprintHash string      `json:"fingerprint_hash"`
	SavedAt         time.Time   `json:"saved_at"`
	Fingerprint     Fingerprint `json:"fingerprint"`
	Roofline        Roofline    `json:"roofline"`
}

// Path is the cache file for fp: roofline-<fp.Hash()>.json.
func (c RooflineCache) Path(fp Fingerprint) string {
	return filepath.Join(c.Dir, "roofline-"+fp.Hash()+".json")
}

// Load returns the cached roofline of fp if there is one measured with the
// loops this binary runs (isa, e.g. kernels.RooflineISA()): a roofline
// measured by the pure-Go loops is no ceiling for AVX-512 code.
func (c RooflineCache) Load(fp Fingerprint, isa string) (Roofline, bool) {
	b, err := os.ReadFile(c.Path(fp))
	if err != nil {
		return Roofline{}, false
	}
	var f cacheFile
	if err := json.Unmarshal(b, &f); err != nil {
		return Roofline{}, false
	}
	if f.Version != cacheVersion || f.FingerprintHash != fp.Hash() || f.Roofline.ISA != isa || f.Roofline.Quick ||
		f.Roofline.ReadGBps1 <= 0 || f.Roofline.FMAGFLOPS1 <= 0 {
		return Roofline{}, false
	}
	return f.Roofline, true
}

// Save writes r for fp, atomically (temp file and rename). Quick rooflines
// are refused: they are not ceilings.
func (c RooflineCache) Save(fp Fingerprint, r Roofline) error {
	if r.Quick {
		return errors.New("device: roofline cache: refusing to cache a quick (inaccurate) roofline")
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("device: roofline cache: %w", err)
	}
	b, err := json.MarshalIndent(cacheFile{Version: cacheVersion, FingerprintHash: fp.Hash(),
		SavedAt: time.Now().UTC(), Fingerprint: fp, Roofline: r}, "", "  ")
	if err != nil {
		return fmt.Errorf("device: roofline cache: %w", err)
	}
	tmp, err := os.CreateTemp(c.Dir, ".roofline-*.tmp")
	if err != nil {
		return fmt.Errorf("device: roofline cache: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), c.Path(fp))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("device: roofline cache: %s: %w", c.Path(fp), werr)
	}
	return nil
}

// Cached returns the roofline cached for fp in the default cache, if one was
// measured with the roofline loops this binary runs on every CPU this
// process may use (the device roofline: its "all" figures are what a run on
// all threads is compared with).
func Cached(fp Fingerprint) (Roofline, bool) {
	c, err := DefaultCache()
	if err != nil {
		return Roofline{}, false
	}
	r, ok := c.Load(fp, kernels.RooflineISA())
	if !ok || r.Threads != runtime.NumCPU() {
		return Roofline{}, false
	}
	return r, true
}

// SingleThread is r seen as a one-thread roofline: its "all" figures are
// its one-worker ones, which were measured with a single worker.
func (r Roofline) SingleThread() Roofline {
	r.Threads = 1
	r.ReadGBpsAll, r.ReadGBpsAllMedian = r.ReadGBps1, r.ReadGBps1Median
	r.FMAGFLOPSAll, r.FMAGFLOPSAllMedian = r.FMAGFLOPS1, r.FMAGFLOPS1Median
	r.ReadStreamsAll = r.ReadStreams1
	r.ReadByStreams = slices.Clone(r.ReadByStreams)
	for i := range r.ReadByStreams {
		s := &r.ReadByStreams[i]
		s.ReadGBpsAll, s.ReadGBpsAllMedian = s.ReadGBps1, s.ReadGBps1Median
	}
	return r
}

// SaveCache saves r as fp's roofline in the default cache (see
// RooflineCache.Save).
func SaveCache(fp Fingerprint, r Roofline) error {
	c, err := DefaultCache()
	if err != nil {
		return err
	}
	return c.Save(fp, r)
}

// Roofline sources reported by LoadOrMeasure.
const (
	SourceCache    = "cache"
	SourceMeasured = "measured"
)

// LoadOrMeasure returns fp's cached roofline unless remeasure is set or there
// is none measured with opt.Threads workers; otherwise it measures and (for
// non-quick options) saves the result. The cache holds the device roofline,
// measured on every CPU: one-thread requests are served from its one-worker
// figures, and a measurement on another thread count is returned but not
// saved (it would leave `edgebench run` without its all-threads ceiling).
// source is SourceCache or SourceMeasured. A failure to save, or a roofline
// not saved, is not an error: it is said in the roofline's Notes.
func LoadOrMeasure(ctx context.Context, fp Fingerprint, opt RooflineOptions, remeasure bool) (r Roofline, source string, err error) {
	c, cerr := DefaultCache()
	all := runtime.NumCPU()
	want := opt.Threads
	if want <= 0 {
		want = all
	}
	if !remeasure && !opt.Quick && cerr == nil {
		if r, ok := c.Load(fp, kernels.RooflineISA()); ok && r.Threads == want {
			return r, SourceCache, nil
		} else if ok && r.Threads == all && want == 1 {
			return r.SingleThread(), SourceCache, nil
		}
	}
	if opt.LLCBytes == 0 {
		opt.LLCBytes = fp.LLCBytes
	}
	r, err = MeasureRoofline(ctx, opt)
	if err != nil {
		return Roofline{}, "", err
	}
	switch {
	case opt.Quick:
	case r.Threads != all:
		r.Notes = append(r.Notes, fmt.Sprintf("not cached: measured on %d threads; the cache keeps the roofline measured on all %d CPUs", r.Threads, all))
	default:
		if cerr == nil {
			cerr = c.Save(fp, r)
		}
		if cerr != nil {
			r.Notes = append(r.Notes, "not cached: "+cerr.Error())
		}
	}
	return r, SourceMeasured, nil
}
