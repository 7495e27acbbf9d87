package probes

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// hwmon: power monitors (mainline ina3221 on Jetson Orin, ina2xx), energy
// counters, temperatures and fans from /sys/class/hwmon/hwmon*. Devices are
// matched by their name attribute, never by index: hwmonN numbers change
// between boards and boots. The sensor plan is built once and rebuilt (by
// name) whenever a read fails, so a renumbered device is found again.

func init() { register("hwmon", true, newHwmon) }

// hwmonSensor is one metric computed from one or two attribute files.
type hwmonSensor struct {
	chip   string // chip name, to report what disappeared
	metric Metric // Name, Kind, Scope; Value filled by read
	files  []string
	scale  float64 // metric = product(files) * scale
}

type hwmonProbe struct {
	env     Env
	sensors []hwmonSensor
}

func newHwmon(env Env) (Probe, error) {
	p := &hwmonProbe{env: env}
	dir := env.path("sys/class/hwmon")
	if len(numberedDirs(dir, "hwmon")) == 0 {
		return nil, unavailable("no hwmon devices in %s", dir)
	}
	p.sensors = p.discover()
	if len(p.sensors) == 0 {
		return nil, unavailable("hwmon devices in %s have no temperature, power or energy sensor", dir)
	}
	return p, nil
}

type hwmonChip struct {
	name string
	dir  string // directory holding the attributes
}

// chips lists hwmon devices with their names; old drivers keep attributes in
// hwmonN/device/ rather than hwmonN/.
func (p *hwmonProbe) chips() []hwmonChip {
	var out []hwmonChip
	for _, d := range numberedDirs(p.env.path("sys/class/hwmon"), "hwmon") {
		for _, dir := range []string{d, filepath.Join(d, "device")} {
			if name, err := p.env.readString(filepath.Join(dir, "name")); err == nil {
				out = append(out, hwmonChip{name, dir})
				break
			}
		}
	}
	return out
}

// cpuTempSensor says whether a temperature is the CPU/SoC die temperature,
// which the report prefers for "max temperature".
func cpuTempSensor(chip, label string) bool {
	switch chip {
	case "k10temp", "zenpower":
		return label == "Tctl" || label == "Tdie" || label == "temp1"
	case "coretemp":
		return strings.HasPrefix(label, "Package")
	case "cpu_thermal", "cpu-thermal", "soc_thermal":
		return true
	}
	return false
}

func (p *hwmonProbe) discover() []hwmonSensor {
	var out []hwmonSensor
	seen := map[string]int{}
	add := func(c hwmonChip, m Metric, scale float64, files ...string) {
		// Two chips of one type (AGX Orin has two ina3221) get distinct names.
		if n := seen[m.Name]; n > 0 {
			seen[m.Name] = n + 1
			m.Name = fmt.Sprintf("%s#%d", m.Name, n+1)
		} else {
			seen[m.Name] = 1
		}
		for i, f := range files {
			files[i] = filepath.Join(c.dir, f)
		}
		out = append(out, hwmonSensor{chip: c.name, metric: m, files: files, scale: scale})
	}
	for _, c := range p.chips() {
		label := func(kind string, n int) string {
			if l, err := p.env.readString(filepath.Join(c.dir, fmt.Sprintf("%s%d_label", kind, n))); err == nil && l != "" {
				return sanitize(l)
			}
			return fmt.Sprintf("%s%d", kind, n)
		}
		has := func(file string) bool {
			_, err := p.env.readInt(filepath.Join(c.dir, file))
			return err == nil
		}
		prefix := "hwmon:" + c.name + ":"
		for _, n := range channels(c.dir, "temp", "_input") { // m°C
			l := label("temp", n)
			scope := ScopeComponent
			if cpuTempSensor(c.name, l) {
				scope = ScopePackage
			}
			add(c, Metric{Name: prefix + l, Kind: KindTemp, Scope: scope}, 1e-3, fmt.Sprintf("temp%d_input", n))
		}
		if c.name == "ina3221" {
			// Channels 1-3: bus voltage (mV) and current (mA); there is no
			// power attribute, so P = V × I. Unlabelled channels are not wired.
			for n := 1; n <= 3; n++ {
				l, err := p.env.readString(filepath.Join(c.dir, fmt.Sprintf("in%d_label", n)))
				if err != nil || l == "" {
					continue
				}
				if en, err := p.env.readInt(filepath.Join(c.dir, fmt.Sprintf("in%d_enable", n))); err == nil && en == 0 {
					continue
				}
				in, curr := fmt.Sprintf("in%d_input", n), fmt.Sprintf("curr%d_input", n)
				if !has(in) || !has(curr) {
					continue
				}
				scope := ScopeComponent
				if l == "VDD_IN" || l == "POM_5V_IN" {
					scope = ScopeBoard // the module's input rail
				}
				add(c, Metric{Name: prefix + sanitize(l), Kind: KindPower, Scope: scope}, 1e-6, in, curr)
			}
		} else {
			// ina2xx and other meters with a power attribute (µW); ACPI
			// power_meter and some GPUs only have power*_average.
			for _, suffix := range []string{"_input", "_average"} {
				chs := channels(c.dir, "power", suffix)
				for _, n := range chs {
					add(c, Metric{Name: prefix + label("power", n), Kind: KindPower}, 1e-6, fmt.Sprintf("power%d%s", n, suffix))
				}
				if len(chs) > 0 {
					break
				}
			}
			for _, n := range channels(c.dir, "energy", "_input") { // µJ
				add(c, Metric{Name: prefix + label("energy", n), Kind: KindEnergy}, 1e-6, fmt.Sprintf("energy%d_input", n))
			}
		}
		for _, n := range channels(c.dir, "fan", "_input") {
			add(c, Metric{Name: prefix + label("fan", n) + "_rpm", Kind: KindInfo}, 1, fmt.Sprintf("fan%d_input", n))
		}
		if c.name == "rpi_volt" && has("in0_lcrit_alarm") {
			// Latched under-voltage flag of the Pi's supply monitor.
			add(c, Metric{Name: prefix + "undervoltage", Kind: KindThrottle}, 1, "in0_lcrit_alarm")
		}
	}
	return out
}

func (p *hwmonProbe) read() ([]Metric, error) {
	out := make([]Metric, 0, len(p.sensors))
	var firstErr error
sensors:
	for _, s := range p.sensors {
		v := s.scale
		for _, f := range s.files {
			x, err := p.env.readInt(f)
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("hwmon %s: %w", s.chip, err)
				}
				continue sensors
			}
			v *= float64(x)
		}
		if s.metric.Kind == KindThrottle && v != 0 {
			v = 1
		}
		m := s.metric
		m.Value = v
		out = append(out, m)
	}
	return out, firstErr
}

func (p *hwmonProbe) Read(ctx context.Context) ([]Metric, error) {
	ms, err := p.read()
	if err == nil {
		return ms, nil
	}
	// A device vanished or was renumbered (driver reload): find the sensors
	// again by name and read what is there now.
	before := len(p.sensors)
	p.sensors = p.discover()
	if len(p.sensors) == 0 {
		return nil, fmt.Errorf("no hwmon sensor left: %w", err)
	}
	ms, err2 := p.read()
	if err2 == nil && len(p.sensors) < before {
		// Readings of what is left, with the error that explains the gap.
		return ms, err
	}
	return ms, err2
}

func (p *hwmonProbe) Close() error { return nil }
