package probes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// RAPL energy counters through the powercap framework
// (/sys/class/powercap/intel-rapl:N[:M]). Intel and AMD Zen both use this
// driver. Counters are in µJ and wrap at max_energy_range_uj; there is no
// power file, so power comes from differences over time.

func init() { register("rapl", true, newRAPL) }

type raplZone struct {
	metric string
	path   string // energy_uj
	wrapJ  float64
	scope  Scope
}

type raplProbe struct {
	env   Env
	zones []raplZone
}

func newRAPL(env Env) (Probe, error) {
	dir := env.path("sys/class/powercap")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, unavailable("no powercap framework (%s missing): kernel without CONFIG_POWERCAP or not x86", dir)
	}
	// Zone directory names are intel-rapl:P for packages (and psys) and
	// intel-rapl:P:S for their subzones; the class directory lists both.
	var ids []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "intel-rapl:") {
			ids = append(ids, e.Name())
		}
	}
	if len(ids) == 0 {
		return nil, unavailable("no intel-rapl zones in %s (driver intel_rapl_msr not loaded, or a CPU without RAPL)", dir)
	}
	sort.Strings(ids)
	p := &raplProbe{env: env}
	parentName := map[string]string{}
	var permErr error
	for _, id := range ids {
		zdir := filepath.Join(dir, id)
		name, err := env.readString(filepath.Join(zdir, "name"))
		if err != nil {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(id, "intel-rapl:"), ":")
		metric := "rapl:" + name
		scope := ScopeComponent
		if len(parts) == 1 {
			parentName[parts[0]] = name
			switch {
			case strings.HasPrefix(name, "package"):
				scope = ScopePackage
			case name == "psys":
				// psys is the whole SoC platform as the firmware sees it.
				scope = ScopeBoard
			}
		} else {
			metric = "rapl:" + parentName[parts[0]] + "/" + name
		}
		wrap, err := env.readUint(filepath.Join(zdir, "max_energy_range_uj"))
		if err != nil {
			wrap = 0 // the counter is then treated as never wrapping; a drop resets it
		}
		energy := filepath.Join(zdir, "energy_uj")
		if _, err := env.readUint(energy); err != nil {
			if errors.Is(err, fs.ErrPermission) {
				permErr = err
			}
			continue
		}
		p.zones = append(p.zones, raplZone{metric: metric, path: energy, wrapJ: float64(wrap) / 1e6, scope: scope})
	}
	if len(p.zones) == 0 {
		if permErr != nil {
			return nil, unavailable("%s: permission denied: energy_uj is root-only since Linux 5.10 "+
				"(fix: run as root, or sudo chmod a+r %s/intel-rapl:*/energy_uj)", pathOf(permErr), dir)
		}
		return nil, unavailable("no readable RAPL zone in %s", dir)
	}
	return p, nil
}

func pathOf(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path
	}
	return err.Error()
}

func (p *raplProbe) Read(ctx context.Context) ([]Metric, error) {
	out := make([]Metric, 0, len(p.zones))
	var firstErr error
	for _, z := range p.zones {
		uj, err := p.env.readUint(z.path)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		out = append(out, Metric{Name: z.metric, Kind: KindEnergy, Value: float64(uj) / 1e6, Wrap: z.wrapJ, Scope: z.scope})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("rapl: %w", firstErr)
	}
	return out, nil
}

func (p *raplProbe) Close() error { return nil }
