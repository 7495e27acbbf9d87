package probes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Legacy Jetson power monitors (L4T 32: Nano, TX2, Xavier NX/AGX): the
// downstream ina3221x driver exposes IIO devices under
// /sys/bus/i2c/drivers/ina3221x/<bus-addr>/iio:deviceN with rail_name_N and
// in_powerN_input (mW).

func init() { register("ina3221x", true, newINA3221x) }

type iioRail struct {
	metric string
	power  string
	scope  Scope
}

type ina3221xProbe struct {
	env   Env
	rails []iioRail
}

func newINA3221x(env Env) (Probe, error) {
	dir := env.path("sys/bus/i2c/drivers/ina3221x")
	devs, err := os.ReadDir(dir)
	if err != nil {
		return nil, unavailable("no ina3221x driver (%s missing; L4T 32 Jetsons only)", dir)
	}
	p := &ina3221xProbe{env: env}
	for _, d := range devs {
		for _, iio := range numberedDirs(filepath.Join(dir, d.Name()), "iio:device") {
			for _, n := range channels(iio, "rail_name_", "") {
				name, err := env.readString(filepath.Join(iio, fmt.Sprintf("rail_name_%d", n)))
				if err != nil || name == "" {
					continue
				}
				pw := filepath.Join(iio, fmt.Sprintf("in_power%d_input", n))
				if _, err := env.readInt(pw); err != nil {
					continue
				}
				scope := ScopeComponent
				if name == "VDD_IN" || name == "POM_5V_IN" {
					scope = ScopeBoard
				}
				p.rails = append(p.rails, iioRail{"ina3221x:" + sanitize(name), pw, scope})
			}
		}
	}
	if len(p.rails) == 0 {
		return nil, unavailable("ina3221x devices in %s have no readable rail", dir)
	}
	return p, nil
}

func (p *ina3221xProbe) Read(ctx context.Context) ([]Metric, error) {
	out := make([]Metric, 0, len(p.rails))
	var firstErr error
	for _, r := range p.rails {
		mw, err := p.env.readInt(r.power)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("ina3221x: %w", err)
			}
			continue
		}
		out = append(out, Metric{Name: r.metric, Kind: KindPower, Value: float64(mw) / 1000, Scope: r.scope})
	}
	return out, firstErr
}

func (p *ina3221xProbe) Describe() []string {
	names := make([]string, len(p.rails))
	for i, r := range p.rails {
		names[i] = strings.TrimPrefix(r.metric, "ina3221x:")
	}
	return []string{"rails: " + strings.Join(names, ", ")}
}

func (p *ina3221xProbe) Close() error { return nil }
