package runners

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgebench/edgebench/compress"
	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/gguf"
	"github.com/edgebench/edgebench/results"
)

// DefaultCacheDir is where generated models are kept between runs.
func DefaultCacheDir() string {
	if d := os.Getenv("EDGEBENCH_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "edgebench")
	}
	return filepath.Join(os.TempDir(), "edgebench-cache")
}

// IsModelFile tells a GGUF path from a preset name: a .gguf suffix or any
// path separator makes it a file. Workloads and the runner must agree on it.
func IsModelFile(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".gguf") || strings.ContainsRune(name, os.PathSeparator) || strings.ContainsRune(name, '/')
}

// ModelFile returns the GGUF file a cell runs: the path itself for a file,
// or a synthetic model generated from a preset into the cache, keyed by a
// hash of everything that determines its bytes so a changed shape, type,
// seed or generator never reuses a stale file.
func ModelFile(cacheDir, name, weightType string, seed uint64, log io.Writer) (string, error) {
	if IsModelFile(name) {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("model file: %w", err)
		}
		return name, nil
	}
	cfg, err := model.Preset(name)
	if err != nil {
		return "", err
	}
	t, err := model.ParseQuant(weightType)
	if err != nil {
		return "", err
	}
	key, err := json.Marshal(struct {
		Config    model.Config
		Type      string
		Seed      uint64
		Generator int
	}{cfg, t.String(), seed, model.GeneratorVersion})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(key)
	dir := filepath.Join(cacheDir, "models")
	path := filepath.Join(dir, fmt.Sprintf("%s-%s-seed%d-%s.gguf", cfg.Name, t, seed, hex.EncodeToString(sum[:6])))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	if log != nil {
		fmt.Fprintf(log, "generating %s %s (seed %d, %.0f MB) into %s\n", cfg.Name, t, seed, float64(cfg.QuantWeightBytes(t))/1e6, path)
	}
	// Generate writes through a temporary file and renames it, so an
	// interrupted generation never leaves a file that looks complete.
	if err := model.GenerateQuant(context.Background(), path, cfg, t, seed, nil); err != nil {
		return "", err
	}
	return path, nil
}

// CalibTokens is how many random calibration tokens a compressed cell's
// model is prepared with: enough for every matrix to see a full-rank-ish
// sample on the small shapes, few enough that preparing it takes seconds.
// CalibSeqLen cuts them into sequences.
const (
	CalibTokens = 64
	CalibSeqLen = 64
)

// compressVersion is part of a compressed model's cache key; bump it when
// the way cells are compressed here changes their bytes.
const compressVersion = 1

// CellModelFile returns the GGUF file a cell runs. Without compression
// axes it is ModelFile. With a method or a pruner it compresses a source
// into the cache: a preset is first generated as f32 (f16 when the f32
// file would exceed 1 GB), a .gguf path is compressed as it is; the
// compression calibrates on CalibTokens random tokens seeded by the cell's
// seed, so a cell's model is deterministic. The cache key covers the
// source (its generator key, or a file's path, size and modification time),
// the target type, method, pruner, sparsity and calibration; the file is
// written through a temporary file and renamed, so an interrupted
// compression never leaves a file that looks complete.
//
// Method rtn without pruning is exactly what plain generation does (each
// ggml block rounded to nearest with kernels.Quantize, the same
// deterministic f32 weights), so such a cell runs the plain generated file;
// TestRTNIsPlainGeneration checks that compressing gives the same tensors.
func CellModelFile(ctx context.Context, cacheDir string, c results.CellConfig, log io.Writer) (string, error) {
	if c.Method == "" && c.Prune == "" && c.Sparsity == "" {
		return ModelFile(cacheDir, c.Model, c.WeightType, c.Seed, log)
	}
	if c.Prune == "" && c.Sparsity != "" {
		return "", fmt.Errorf("sparsity %s given without a pruner (magnitude, wanda, sparsegpt)", c.Sparsity)
	}
	if c.Method == "rtn" && c.Prune == "" && !IsModelFile(c.Model) {
		return ModelFile(cacheDir, c.Model, c.WeightType, c.Seed, log)
	}
	t, err := kernels.ParseType(c.WeightType)
	if err != nil {
		return "", err
	}
	opts := compress.Options{Type: t, Method: c.Method, Prune: c.Prune}
	if c.Sparsity != "" {
		if opts.Sparsity, err = compress.ParseSparsity(c.Sparsity); err != nil {
			return "", err
		}
	}
	var src, srcKey, name string
	if IsModelFile(c.Model) {
		st, err := os.Stat(c.Model)
		if err != nil {
			return "", fmt.Errorf("model file: %w", err)
		}
		abs, err := filepath.Abs(c.Model)
		if err != nil {
			abs = c.Model
		}
		src = c.Model
		srcKey = fmt.Sprintf("file %s size %d mtime %d", abs, st.Size(), st.ModTime().UnixNano())
		name = strings.TrimSuffix(filepath.Base(c.Model), filepath.Ext(c.Model))
	} else {
		cfg, err := model.Preset(c.Model)
		if err != nil {
			return "", err
		}
		srcType := "f32"
		if cfg.WeightBytes(kernels.F32) > 1<<30 {
			srcType = "f16"
		}
		if src, err = ModelFile(cacheDir, c.Model, srcType, c.Seed, log); err != nil {
			return "", err
		}
		srcKey = filepath.Base(src) // generator key hash is in the name
		name = cfg.Name
	}
	key, err := json.Marshal(struct {
		Source                      string
		Type, Method, Prune, Sparse string
		CalibTokens, CalibSeq       int
		Seed                        uint64
		Version                     int
	}{srcKey, t.String(), c.Method, c.Prune, c.Sparsity, CalibTokens, CalibSeqLen, c.Seed, compressVersion})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(key)
	label := c.Method
	if c.Prune != "" {
		label = strings.Trim(label+"-"+c.Prune+strings.ReplaceAll(c.Sparsity, ":", "of"), "-")
	}
	dir := filepath.Join(cacheDir, "models")
	path := filepath.Join(dir, fmt.Sprintf("%s-%s-%s-seed%d-%s.gguf", name, t, label, c.Seed, hex.EncodeToString(sum[:6])))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("model cache: %w", err)
	}
	in, err := gguf.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	mcfg, err := model.ConfigFromGGUF(in)
	if err != nil {
		return "", fmt.Errorf("%s: %w", src, err)
	}
	opts.Calib = compress.RandomCalibration(mcfg.Vocab, CalibTokens, CalibSeqLen, c.Seed)
	opts.CalibDesc = fmt.Sprintf("random:%d seed %d seq %d", CalibTokens, c.Seed, CalibSeqLen)
	if log != nil {
		fmt.Fprintf(log, "compressing %s to %s (method %s, prune %s %s, calibration %s) into %s\n",
			filepath.Base(src), t, orNone(c.Method), orNone(c.Prune), c.Sparsity, opts.CalibDesc, path)
	}
	// compress writes through gguf.Create: a temporary file renamed on
	// success and removed on failure or cancellation.
	if _, err := compress.ModelContext(ctx, in, path, opts); err != nil {
		return "", err
	}
	return path, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
