package probes

import (
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTree copies a fixture tree into a temporary directory so a test can
// change it (remove a device, renumber hwmon, rewrite a value).
func copyTree(t *testing.T, board string) string {
	t.Helper()
	src := filepath.Join("testdata", board)
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustOpen builds one registered source for env.
func mustOpen(t *testing.T, name string, env Env) Probe {
	t.Helper()
	registryMu.Lock()
	src, ok := registry[name]
	registryMu.Unlock()
	if !ok {
		t.Fatalf("source %s not registered", name)
	}
	p, err := src.factory(env)
	if err != nil {
		t.Fatalf("%s on %s: %v", name, env.Root, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func openErr(t *testing.T, name string, env Env) error {
	t.Helper()
	registryMu.Lock()
	src := registry[name]
	registryMu.Unlock()
	p, err := src.factory(env)
	if err == nil {
		p.Close()
	}
	return err
}

func readMap(t *testing.T, p Probe) map[string]Metric {
	t.Helper()
	ms, err := p.Read(context.Background())
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return toMap(ms)
}

func toMap(ms []Metric) map[string]Metric {
	out := map[string]Metric{}
	for _, m := range ms {
		out[m.Name] = m
	}
	return out
}

func near(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))+1e-12
}

func wantMetric(t *testing.T, ms map[string]Metric, name string, kind Kind, value float64) Metric {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		var names []string
		for n := range ms {
			names = append(names, n)
		}
		t.Fatalf("no metric %s (have %s)", name, strings.Join(names, ", "))
	}
	if m.Kind != kind || !near(m.Value, value, 1e-9) {
		t.Fatalf("%s = %v %s, want %v %s", name, m.Value, m.Kind, value, kind)
	}
	return m
}
