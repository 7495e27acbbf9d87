package kernels

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// DotFunc returns the dot product of one weight row w (n values of the
// backend entry's weight type, raw bytes in ggml's layout) with an activation
// row x (n values in ActivationType(weight type), raw bytes). n is a whole
// number of blocks of both types.
type DotFunc func(n int, w, x []byte) float32

// Backend is one implementation of the inner loops. A backend may implement
// only some weight types; the rest fall back to the next backend in priority
// order, and Kernel reports which backend really serves each type.
type Backend struct {
	Name      string      // "ref", "go", "avx2", "avx512", "neon"
	Priority  int         // higher is preferred by automatic selection
	Available func() bool // whether this CPU can run it (nil: always)
	Dot       map[Type]DotFunc
}

var registry []*Backend

// Register adds a backend; each backend file calls it from init.
func Register(b *Backend) {
	for _, r := range registry {
		if r.Name == b.Name {
			panic("kernels: backend registered twice: " + b.Name)
		}
	}
	registry = append(registry, b)
	sort.SliceStable(registry, func(i, j int) bool { return registry[i].Priority > registry[j].Priority })
}

// Backends lists every compiled-in backend, best first, available or not.
func Backends() []*Backend { return append([]*Backend(nil), registry...) }

func (b *Backend) usable() bool { return b.Available == nil || b.Available() }

// BackendEnv names the environment variable that forces a backend when no
// explicit choice is given.
const BackendEnv = "EDGEBENCH_BACKEND"

// SelectBackend returns the backend named name; "" or "auto" picks the value
// of $EDGEBENCH_BACKEND if set, else the best backend this CPU can run.
func SelectBackend(name string) (*Backend, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == "auto" {
		name = strings.ToLower(strings.TrimSpace(os.Getenv(BackendEnv)))
	}
	if name == "" || name == "auto" {
		for _, b := range registry {
			if b.usable() {
				return b, nil
			}
		}
		return nil, fmt.Errorf("no kernel backend can run on this CPU")
	}
	var names []string
	for _, b := range registry {
		if b.Name == name {
			if !b.usable() {
				return nil, fmt.Errorf("kernel backend %q is compiled in but this CPU lacks the instructions it needs", name)
			}
			return b, nil
		}
		names = append(names, b.Name)
	}
	return nil, fmt.Errorf("unknown kernel backend %q (compiled in: %s)", name, strings.Join(names, ", "))
}

// Kernel resolves the dot product for weight type t starting at backend b,
// falling back down the priority order; it returns the function and the name
// of the backend that provides it.
func (b *Backend) Kernel(t Type) (DotFunc, string, error) {
	start := false
	for _, r := range registry {
		if r == b {
			start = true
		}
		if !start || !r.usable() {
			continue
		}
		if f := r.Dot[t]; f != nil {
			return f, r.Name, nil
		}
	}
	return nil, "", fmt.Errorf("no kernel backend implements %s weights", t)
}
