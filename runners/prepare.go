package runners

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
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

// isModelFile tells a GGUF path from a preset name.
func isModelFile(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".gguf") || strings.ContainsRune(name, os.PathSeparator)
}

// ModelFile returns the GGUF file a cell runs: the path itself for a file,
// or a synthetic model generated from a preset into the cache, keyed by a
// hash of everything that determines its bytes so a changed shape, type,
// seed or generator never reuses a stale file.
func ModelFile(cacheDir, name, weightType string, seed uint64, log io.Writer) (string, error) {
	if isModelFile(name) {
		if _, err := os.Stat(name); err != nil {
			return "", fmt.Errorf("model file: %w", err)
		}
		return name, nil
	}
	cfg, err := model.Preset(name)
	if err != nil {
		return "", err
	}
	t, err := kernels.ParseType(weightType)
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
		fmt.Fprintf(log, "generating %s %s (seed %d, %.0f MB) into %s\n", cfg.Name, t, seed, float64(cfg.WeightBytes(t))/1e6, path)
	}
	// Generate writes through a temporary file and renames it, so an
	// interrupted generation never leaves a file that looks complete.
	if err := model.Generate(path, cfg, t, seed, nil); err != nil {
		return "", err
	}
	return path, nil
}
