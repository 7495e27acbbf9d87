package probes

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Raspberry Pi firmware through vcgencmd: the Pi 5 PMIC's rail ADCs
// (pmic_read_adc), the firmware's throttling bits (get_throttled), SoC
// temperature and ARM clock. The PMIC lists each rail's current and voltage on
// separate lines with different channel numbers, so rails are paired by name.
// The rail sum misses the board's conversion losses: it is reported as
// "PMIC rails", never as wall power.

func init() { register("vcgencmd", true, newVcgencmd) }

type vcgencmdProbe struct {
	env   Env
	path  string
	pmic  bool
	reads int
	rails []string
	last  time.Time
}

// vcgencmdMinGap spaces vcgencmd runs: each is a process talking to the
// firmware (a few ms of CPU on a Pi 5), so at the default 10 Hz they would
// cost several percent of a core. Energy is integrated by trapezoids
// between the 4 Hz samples.
const vcgencmdMinGap = 250 * time.Millisecond

func newVcgencmd(env Env) (Probe, error) {
	path, err := env.command("vcgencmd")
	if err != nil {
		return nil, err
	}
	p := &vcgencmdProbe{env: env, path: path}
	out, errT := env.run(context.Background(), path, "get_throttled")
	if errT == nil {
		if _, errT = parseThrottled(string(out)); errT != nil {
			errT = fmt.Errorf("vcgencmd get_throttled: %w", errT)
		}
	}
	out, errP := env.run(context.Background(), path, "pmic_read_adc")
	if errP == nil {
		var rails map[string]rail
		if rails, errP = parsePMIC(string(out)); errP == nil {
			p.pmic = true
			for n, r := range rails {
				if r.hasA && r.hasV {
					p.rails = append(p.rails, n)
				}
			}
			sort.Strings(p.rails)
		}
	}
	if errT != nil && errP != nil {
		return nil, unavailable("%v; %v", errT, errP)
	}
	return p, nil
}

type rail struct {
	amps, volts float64
	hasA, hasV  bool
}

// "  VDD_CORE_A current(7)=2.41392000A" or "     EXT5V_V volt(24)=5.14700000V"
var pmicLine = regexp.MustCompile(`^\s*(\S+)_([AV])\s+(current|volt)\((\d+)\)=([-0-9.eE+]+)([AV])\s*$`)

func parsePMIC(s string) (map[string]rail, error) {
	rails := map[string]rail{}
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := pmicLine.FindStringSubmatch(line)
		if m == nil {
			continue // other firmware chatter
		}
		v, ok := parseFinite(m[5])
		if !ok {
			return nil, fmt.Errorf("pmic_read_adc: bad number in %q", strings.TrimSpace(line))
		}
		r := rails[m[1]]
		if m[2] == "A" {
			r.amps, r.hasA = v, true
		} else {
			r.volts, r.hasV = v, true
		}
		rails[m[1]] = r
	}
	if len(rails) == 0 {
		return nil, errors.New("pmic_read_adc: no rail lines (not a Raspberry Pi 5 PMIC?)")
	}
	return rails, nil
}

var throttledRe = regexp.MustCompile(`throttled=0x([0-9a-fA-F]+)`)

func parseThrottled(s string) (uint64, error) {
	m := throttledRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("no throttled=0x… in %q", strings.TrimSpace(s))
	}
	return strconv.ParseUint(m[1], 16, 32)
}

// Bits of get_throttled: 0-3 are "now", 16-19 "has occurred since boot".
var throttleBits = []struct {
	bit  uint
	name string
}{{0, "undervoltage"}, {1, "arm_freq_capped"}, {2, "throttled"}, {3, "soft_temp_limit"}}

var (
	tempRe  = regexp.MustCompile(`temp=([-0-9.]+)'C`)
	clockRe = regexp.MustCompile(`frequency\(\d+\)=(\d+)`)
)

func (p *vcgencmdProbe) Read(ctx context.Context) ([]Metric, error) {
	gap := max(p.env.interval(), vcgencmdMinGap)
	if !p.last.IsZero() && time.Since(p.last) < gap {
		return nil, nil // not yet: no sample, rather than a repeated one
	}
	p.last = time.Now()
	var out []Metric
	var errs []error
	if p.pmic {
		s, err := p.env.run(ctx, p.path, "pmic_read_adc")
		var rails map[string]rail
		if err == nil {
			rails, err = parsePMIC(string(s))
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			names := make([]string, 0, len(rails))
			for n := range rails {
				names = append(names, n)
			}
			sort.Strings(names)
			var sum float64
			for _, n := range names {
				r := rails[n]
				switch {
				case r.hasA && r.hasV:
					w := r.amps * r.volts
					sum += w
					out = append(out, Metric{Name: "vcgencmd:rail:" + n, Kind: KindPower, Value: w})
				case r.hasV:
					out = append(out, Metric{Name: "vcgencmd:" + n, Kind: KindVoltage, Value: r.volts})
				}
			}
			out = append(out, Metric{Name: "vcgencmd:pmic_rails", Kind: KindPower, Value: sum, Scope: ScopeRails})
		}
	}
	if s, err := p.env.run(ctx, p.path, "get_throttled"); err != nil {
		errs = append(errs, err)
	} else if bits, err := parseThrottled(string(s)); err != nil {
		errs = append(errs, fmt.Errorf("get_throttled: %w", err))
	} else {
		for _, b := range throttleBits {
			out = append(out, Metric{Name: "vcgencmd:" + b.name, Kind: KindThrottle, Value: float64(bits >> b.bit & 1)})
		}
	}
	// Temperature and clock are also in sysfs on a Pi 5; each costs a
	// process, so they are read every fourth time (about 1 Hz) only.
	if p.reads%4 == 0 {
		if s, err := p.env.run(ctx, p.path, "measure_temp"); err != nil {
			errs = append(errs, err)
		} else if m := tempRe.FindStringSubmatch(string(s)); m != nil {
			if v, ok := parseFinite(m[1]); ok {
				out = append(out, Metric{Name: "vcgencmd:soc_temp", Kind: KindTemp, Value: v, Scope: ScopePackage})
			}
		}
		if s, err := p.env.run(ctx, p.path, "measure_clock", "arm"); err != nil {
			errs = append(errs, err)
		} else if m := clockRe.FindStringSubmatch(string(s)); m != nil {
			if v, ok := parseFinite(m[1]); ok {
				out = append(out, Metric{Name: "vcgencmd:arm_clock", Kind: KindFreq, Value: v})
			}
		}
	}
	p.reads++
	return out, errors.Join(errs...)
}

func (p *vcgencmdProbe) Describe() []string {
	var out []string
	if p.pmic {
		out = append(out, fmt.Sprintf("PMIC rails with V and I: %s (sum excludes board losses)", strings.Join(p.rails, ", ")))
	} else {
		out = append(out, "no PMIC ADC (pmic_read_adc is Raspberry Pi 5 only)")
	}
	if s, err := p.env.run(context.Background(), p.path, "get_throttled"); err == nil {
		if bits, err := parseThrottled(string(s)); err == nil {
			var occurred []string
			for _, b := range throttleBits {
				if bits>>(b.bit+16)&1 == 1 {
					occurred = append(occurred, b.name)
				}
			}
			if len(occurred) == 0 {
				occurred = []string{"none"}
			}
			out = append(out, fmt.Sprintf("throttled=0x%x; since boot: %s", bits, strings.Join(occurred, ", ")))
		}
	}
	return out
}

func (p *vcgencmdProbe) Close() error { return nil }
