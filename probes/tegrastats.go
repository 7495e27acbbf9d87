package probes

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// NVIDIA Jetson tegrastats: one line per interval with RAM, per-core CPU load
// and clock, GPU load, temperatures (name@45.5C) and power rails. Two rail
// formats exist: L4T 32 prints "POM_5V_IN 2545/2547" (mW, current/average)
// and L4T 35+ prints "VDD_IN 4556mW/4556mW" after a date; a third value per
// rail is tolerated. tegrastats runs continuously; the probe keeps its latest
// line. NVML power queries do not work on Jetson, so this (or the ina3221
// hwmon/IIO files) is the power source there.

func init() { register("tegrastats", true, newTegrastats) }

var (
	tsRailVal = regexp.MustCompile(`^(\d+)(?:mW)?/(\d+)(?:mW)?(?:/(\d+)(?:mW)?)?$`)
	tsName    = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	tsTemp    = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)@(-?[0-9.]+)C$`)
	tsCPU     = regexp.MustCompile(`CPU \[([^\]]*)\]`)
	tsGPU     = regexp.MustCompile(`GR3D_FREQ (\d+)%(?:@\[?(\d+))?`)
	tsRAM     = regexp.MustCompile(`RAM (\d+)/(\d+)MB`)
)

// ParseTegrastats turns one tegrastats line into metrics (W, °C, Hz, %,
// bytes). It returns an error when the line has none of the known fields.
func ParseTegrastats(line string) ([]Metric, error) {
	var out []Metric
	tok := strings.Fields(line)
	for i, t := range tok {
		// A rail is an upper-case name followed by "cur/avg" with or without
		// mW; RAM and SWAP values end in MB and do not match.
		if i+1 < len(tok) && tsName.MatchString(t) {
			if m := tsRailVal.FindStringSubmatch(tok[i+1]); m != nil && t != "RAM" && t != "SWAP" {
				mw, _ := strconv.ParseFloat(m[1], 64)
				scope := ScopeComponent
				if t == "VDD_IN" || t == "POM_5V_IN" {
					scope = ScopeBoard
				}
				out = append(out, Metric{Name: "tegrastats:" + t, Kind: KindPower, Value: mw / 1000, Scope: scope})
				continue
			}
		}
		m := tsTemp.FindStringSubmatch(t)
		if m == nil {
			continue
		}
		v, ok := parseFinite(m[2])
		if !ok {
			continue
		}
		name := strings.ToLower(m[1])
		// -256C marks a powered-off sensor; PMIC@100C is a fixed placeholder.
		if v <= -256 || (name == "pmic" && v == 100) {
			continue
		}
		scope := ScopeComponent
		if name == "cpu" || name == "tj" {
			scope = ScopePackage
		}
		out = append(out, Metric{Name: "tegrastats:temp:" + m[1], Kind: KindTemp, Value: v, Scope: scope})
	}
	if m := tsCPU.FindStringSubmatch(line); m != nil {
		var sum float64
		var n int
		for i, c := range strings.Split(m[1], ",") {
			// "24%@1224" (load, MHz) or "off"
			_, mhz, ok := strings.Cut(c, "@")
			if !ok {
				continue
			}
			f, ok := parseFinite(mhz)
			if !ok {
				continue
			}
			out = append(out, Metric{Name: fmt.Sprintf("tegrastats:cpu%d", i), Kind: KindFreq, Value: f * 1e6})
			sum += f * 1e6
			n++
		}
		if n > 0 {
			out = append(out, Metric{Name: "tegrastats:cpu_mean", Kind: KindFreq, Value: sum / float64(n), Scope: ScopePackage})
		}
	}
	if m := tsGPU.FindStringSubmatch(line); m != nil {
		u, _ := strconv.ParseFloat(m[1], 64)
		out = append(out, Metric{Name: "tegrastats:gpu_load", Kind: KindPercent, Value: u})
		if m[2] != "" {
			f, _ := strconv.ParseFloat(m[2], 64)
			out = append(out, Metric{Name: "tegrastats:gpu_freq", Kind: KindFreq, Value: f * 1e6})
		}
	}
	if m := tsRAM.FindStringSubmatch(line); m != nil {
		used, _ := strconv.ParseFloat(m[1], 64)
		out = append(out, Metric{Name: "tegrastats:ram_used", Kind: KindBytes, Value: used * (1 << 20)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tegrastats: unrecognised line %q", truncate(line, 60))
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

type tegrastatsProbe struct{ s *streamer }

func newTegrastats(env Env) (Probe, error) {
	path, err := env.command("tegrastats")
	if err != nil {
		return nil, err
	}
	ms := env.interval().Milliseconds()
	if ms < 1 {
		ms = 1
	}
	s, err := startStreamer(env, path, []string{"--interval", strconv.FormatInt(ms, 10)},
		func(line string) (string, []Metric, error) {
			ms, err := ParseTegrastats(line)
			return "", ms, err
		})
	if err != nil {
		return nil, err
	}
	return &tegrastatsProbe{s}, nil
}

func (p *tegrastatsProbe) Read(ctx context.Context) ([]Metric, error) { return p.s.read() }

func (p *tegrastatsProbe) Close() error {
	p.s.close()
	return nil
}
