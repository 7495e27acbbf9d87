package probes

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// Thermal zones (/sys/class/thermal/thermal_zone*): temperature in m°C and
// trip points. Reaching a passive trip means the kernel is throttling that
// zone's cooling devices, so it is reported as a throttle flag.

func init() { register("thermal", true, newThermal) }

type thermalZone struct {
	metric  string
	temp    string
	passive float64 // °C of the lowest passive/hot trip; 0 if none
	cpu     bool
	trips   []string
}

type thermalProbe struct {
	env   Env
	zones []thermalZone
}

// Describer is implemented by probes that have static facts worth listing
// (trip points, governors, rail names).
type Describer interface {
	Describe() []string
}

func newThermal(env Env) (Probe, error) {
	dir := env.path("sys/class/thermal")
	zs := numberedDirs(dir, "thermal_zone")
	if len(zs) == 0 {
		return nil, unavailable("no thermal zones in %s", dir)
	}
	p := &thermalProbe{env: env}
	seen := map[string]int{}
	var lastErr error
	for _, z := range zs {
		typ, err := env.readString(filepath.Join(z, "type"))
		if err != nil {
			lastErr = err
			continue
		}
		temp := filepath.Join(z, "temp")
		if v, err := env.readInt(temp); err != nil || v <= -255000 {
			// Zones of powered-down sensors return EINVAL/ENODATA, or
			// -256 °C on Tegra (CV clusters when off).
			if err == nil {
				err = fmt.Errorf("%s: %d m°C: sensor off", temp, v)
			}
			lastErr = err
			continue
		}
		name := "thermal:" + sanitize(typ)
		if n := seen[name]; n > 0 {
			seen[name] = n + 1
			name = fmt.Sprintf("%s#%d", name, n+1)
		} else {
			seen[name] = 1
		}
		tz := thermalZone{metric: name, temp: temp, cpu: cpuZone(typ)}
		for _, n := range channels(z, "trip_point_", "_temp") {
			t, err1 := env.readInt(filepath.Join(z, fmt.Sprintf("trip_point_%d_temp", n)))
			tt, err2 := env.readString(filepath.Join(z, fmt.Sprintf("trip_point_%d_type", n)))
			if err1 != nil || err2 != nil {
				continue
			}
			c := float64(t) / 1000
			if c <= 0 {
				// x86_pkg_temp exposes unset (0) writable passive trips.
				continue
			}
			tz.trips = append(tz.trips, fmt.Sprintf("%s %.1f°C", tt, c))
			if (tt == "passive" || tt == "hot") && (tz.passive == 0 || c < tz.passive) {
				tz.passive = c
			}
		}
		p.zones = append(p.zones, tz)
	}
	if len(p.zones) == 0 {
		return nil, unavailable("no readable thermal zone in %s (last error: %v)", dir, lastErr)
	}
	return p, nil
}

// cpuZone recognises zone types that measure the CPU or SoC die.
func cpuZone(typ string) bool {
	t := strings.ToLower(typ)
	for _, s := range []string{"cpu", "x86_pkg", "soc", "tj-", "tj_", "k10temp", "package"} {
		if strings.Contains(t, s) {
			return true
		}
	}
	return t == "tj"
}

func (p *thermalProbe) Read(ctx context.Context) ([]Metric, error) {
	out := make([]Metric, 0, 2*len(p.zones))
	var firstErr error
	for _, z := range p.zones {
		v, err := p.env.readInt(z.temp)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("thermal: %w", err)
			}
			continue
		}
		if v <= -255000 {
			continue // sensor powered off since discovery
		}
		c := float64(v) / 1000
		scope := ScopeComponent
		if z.cpu {
			scope = ScopePackage
		}
		out = append(out, Metric{Name: z.metric, Kind: KindTemp, Value: c, Scope: scope})
		if z.passive > 0 {
			out = append(out, Metric{Name: z.metric + ":passive_trip", Kind: KindThrottle, Value: float64(boolInt(c >= z.passive))})
		}
	}
	return out, firstErr
}

func (p *thermalProbe) Describe() []string {
	var out []string
	for _, z := range p.zones {
		trips := strings.Join(z.trips, ", ")
		if trips == "" {
			trips = "none"
		}
		out = append(out, fmt.Sprintf("%s trip points: %s", z.metric, trips))
	}
	return out
}

func (p *thermalProbe) Close() error { return nil }
