package probes

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// NVIDIA GPUs through nvidia-smi's CSV query: board power draw (W), GPU
// temperature (°C) and SM clock (MHz). Fields a GPU does not support come
// back as "[N/A]" or "[Not Supported]" and are left out, not zeroed.

func init() { register("nvidia-smi", true, newNvidiaSMI) }

var nvsmiArgs = []string{"--query-gpu=index,power.draw,temperature.gpu,clocks.sm,name", "--format=csv,noheader,nounits"}

type nvidiaSMIProbe struct {
	env  Env
	path string
	gpus []string
}

func newNvidiaSMI(env Env) (Probe, error) {
	path, err := env.command("nvidia-smi")
	if err != nil {
		return nil, err
	}
	p := &nvidiaSMIProbe{env: env, path: path}
	s, err := env.run(context.Background(), path, nvsmiArgs...)
	if err != nil {
		return nil, unavailable("%v", err)
	}
	ms, names, err := ParseNvidiaSMI(string(s))
	if err != nil {
		return nil, unavailable("%v", err)
	}
	p.gpus = names
	if len(ms) == 0 {
		return nil, unavailable("nvidia-smi reports no GPU with power, temperature or clock")
	}
	return p, nil
}

// ParseNvidiaSMI parses the CSV of nvsmiArgs.
func ParseNvidiaSMI(s string) ([]Metric, []string, error) {
	var out []Metric
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 5 {
			return nil, nil, fmt.Errorf("nvidia-smi: expected 5 CSV fields, got %q", truncate(line, 60))
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		idx := f[0]
		names = append(names, "gpu"+idx+" "+strings.Join(f[4:], ","))
		num := func(s string) (float64, bool) {
			v, err := strconv.ParseFloat(s, 64)
			return v, err == nil
		}
		if v, ok := num(f[1]); ok {
			out = append(out, Metric{Name: "nvidia-smi:gpu" + idx + ":power", Kind: KindPower, Value: v})
		}
		if v, ok := num(f[2]); ok {
			out = append(out, Metric{Name: "nvidia-smi:gpu" + idx + ":temp", Kind: KindTemp, Value: v})
		}
		if v, ok := num(f[3]); ok {
			out = append(out, Metric{Name: "nvidia-smi:gpu" + idx + ":sm_clock", Kind: KindFreq, Value: v * 1e6})
		}
	}
	return out, names, nil
}

func (p *nvidiaSMIProbe) Read(ctx context.Context) ([]Metric, error) {
	s, err := p.env.run(ctx, p.path, nvsmiArgs...)
	if err != nil {
		return nil, err
	}
	ms, _, err := ParseNvidiaSMI(string(s))
	return ms, err
}

func (p *nvidiaSMIProbe) Describe() []string { return p.gpus }

func (p *nvidiaSMIProbe) Close() error { return nil }
