package probes

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Batteries (/sys/class/power_supply/<name> with type "Battery"): power_now
// (µW), or current_now (µA) × voltage_now (µV) when power_now is absent.
// While discharging, the battery's output is the whole system's draw; while
// charging or full it says nothing about the system, so the two are reported
// under different names and only discharge counts as board power. Some
// drivers sign the current (negative while discharging): the sign is kept on
// the current metric and the magnitude is used for power.

func init() { register("battery", true, newBattery) }

type battery struct {
	name string
	dir  string
}

type batteryProbe struct {
	env  Env
	bats []battery
}

func newBattery(env Env) (Probe, error) {
	dir := env.path("sys/class/power_supply")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, unavailable("no battery (%s missing)", dir)
	}
	p := &batteryProbe{env: env}
	for _, e := range ents {
		d := filepath.Join(dir, e.Name())
		if t, err := env.readString(filepath.Join(d, "type")); err != nil || t != "Battery" {
			continue
		}
		if _, err := env.readInt(filepath.Join(d, "power_now")); err != nil {
			_, errI := env.readInt(filepath.Join(d, "current_now"))
			_, errV := env.readInt(filepath.Join(d, "voltage_now"))
			if errI != nil || errV != nil {
				continue // a battery that reports only capacity
			}
		}
		p.bats = append(p.bats, battery{e.Name(), d})
	}
	if len(p.bats) == 0 {
		return nil, unavailable("no battery with power_now or current_now+voltage_now in %s", dir)
	}
	return p, nil
}

func (p *batteryProbe) Read(ctx context.Context) ([]Metric, error) {
	var out []Metric
	var firstErr error
	fail := func(err error) {
		if firstErr == nil {
			firstErr = fmt.Errorf("battery: %w", err)
		}
	}
	for _, b := range p.bats {
		status, err := p.env.readString(filepath.Join(b.dir, "status"))
		if err != nil {
			fail(err)
			continue
		}
		var watts float64
		haveI := false
		cur, errI := p.env.readInt(filepath.Join(b.dir, "current_now"))
		volt, errV := p.env.readInt(filepath.Join(b.dir, "voltage_now"))
		if errI == nil {
			haveI = true
			out = append(out, Metric{Name: "battery:" + b.name + ":current", Kind: KindCurrent, Value: float64(cur) / 1e6})
		}
		if errV == nil {
			out = append(out, Metric{Name: "battery:" + b.name + ":voltage", Kind: KindVoltage, Value: float64(volt) / 1e6})
		}
		if pw, err := p.env.readInt(filepath.Join(b.dir, "power_now")); err == nil {
			watts = math.Abs(float64(pw)) / 1e6
		} else if haveI && errV == nil {
			watts = math.Abs(float64(cur)/1e6) * float64(volt) / 1e6
		} else {
			fail(err)
			continue
		}
		switch status {
		case "Discharging":
			out = append(out, Metric{Name: "battery:" + b.name + ":discharge", Kind: KindPower, Value: watts, Scope: ScopeBoard})
		case "Charging":
			out = append(out, Metric{Name: "battery:" + b.name + ":charge", Kind: KindPower, Value: watts})
		}
	}
	return out, firstErr
}

func (p *batteryProbe) Describe() []string {
	var out []string
	for _, b := range p.bats {
		st, _ := p.env.readString(filepath.Join(b.dir, "status"))
		line := fmt.Sprintf("%s status %s", b.name, st)
		if st != "Discharging" {
			line += ": system draw is measured only while discharging (unplug AC)"
		}
		out = append(out, line)
	}
	return out
}

func (p *batteryProbe) Close() error { return nil }
