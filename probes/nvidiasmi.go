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

// nvidia-smi takes tens of milliseconds of CPU per run, so it is started
// once in its loop mode (-lms) and its latest line per GPU is kept.
type nvidiaSMIProbe struct {
	s    *streamer
	gpus []string
}

func newNvidiaSMI(env Env) (Probe, error) {
	path, err := env.command("nvidia-smi")
	if err != nil {
		return nil, err
	}
	// One query first: a machine without a working driver answers with an
	// error, which is the reason to show.
	out, err := env.run(context.Background(), path, nvsmiArgs...)
	if err != nil {
		return nil, unavailable("%v", err)
	}
	ms, names, err := ParseNvidiaSMI(string(out))
	if err != nil {
		return nil, unavailable("%v", err)
	}
	if len(ms) == 0 {
		return nil, unavailable("nvidia-smi reports no GPU with power, temperature or clock")
	}
	ival := env.interval().Milliseconds()
	if ival < 1 {
		ival = 1
	}
	s, err := startStreamer(env, path, append(append([]string(nil), nvsmiArgs...), "-lms", strconv.FormatInt(ival, 10)),
		func(line string) (string, []Metric, error) {
			ms, _, err := ParseNvidiaSMI(line)
			if err != nil || len(ms) == 0 {
				return "", nil, fmt.Errorf("nvidia-smi: unusable line %q", truncate(line, 60))
			}
			idx, _, _ := strings.Cut(line, ",")
			return strings.TrimSpace(idx), ms, nil
		})
	if err != nil {
		return nil, err
	}
	return &nvidiaSMIProbe{s: s, gpus: names}, nil
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
		num := parseFinite
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

func (p *nvidiaSMIProbe) Read(ctx context.Context) ([]Metric, error) { return p.s.read() }

func (p *nvidiaSMIProbe) Describe() []string { return p.gpus }

func (p *nvidiaSMIProbe) Close() error {
	p.s.close()
	return nil
}
