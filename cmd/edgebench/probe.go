package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgebench/edgebench/probes"
	"github.com/spf13/cobra"
)

func init() { register(newProbeCmd) }

type probeOpts struct {
	root     string
	watch    bool
	jsonOut  bool
	sources  []string
	interval time.Duration
	count    int
	timeout  time.Duration
	meterCmd string
	meterCSV string
	commands []string
	sample   time.Duration
	idle     time.Duration
}

func newProbeCmd() *cobra.Command {
	var o probeOpts
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "List power, thermal, frequency and memory sources and read them",
		Long: `probe lists every sensor source edgebench knows (RAPL, hwmon, ina3221x,
thermal zones, cpufreq, battery, memory, vcgencmd, tegrastats, nvidia-smi,
external meters) with its status on this machine: available, or unavailable and
why. Available sources are read once; --watch keeps reading them.

--root points at another sysfs/procfs tree, such as the board fixtures in
probes/testdata (Raspberry Pi 5, Jetson Orin Nano, Jetson Xavier NX, Intel
laptop, AMD desktop); tools are then looked up in DIR/usr/bin.`,
		Example: `  edgebench probe                                  # what this machine exposes
  edgebench probe --json                           # the same, as JSON
  edgebench probe --root probes/testdata/pi5       # demo on the Raspberry Pi 5 fixture
  edgebench probe --root probes/testdata/intel-laptop --watch --count 5
  edgebench probe --sources rapl,thermal --watch --interval 500ms
  edgebench probe --root probes/testdata/jetson-orin-nano --sample 2s --idle 1s
  edgebench probe --meter-cmd "/usr/local/bin/read-meter --watts"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runProbe(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.root, "root", "/", "sysfs/procfs root to read (a fixture tree for demos)")
	f.BoolVar(&o.watch, "watch", false, "keep reading and print live values")
	f.BoolVar(&o.jsonOut, "json", false, "print JSON")
	f.StringSliceVar(&o.sources, "sources", nil, "only these sources (comma-separated names)")
	f.DurationVar(&o.interval, "interval", probes.DefaultInterval*10, "time between readings with --watch")
	f.IntVar(&o.count, "count", 0, "with --watch, stop after this many readings (0 = until interrupted)")
	f.DurationVar(&o.timeout, "timeout", 2*time.Second, "bound on each source's read and each command")
	f.StringVar(&o.meterCmd, "meter-cmd", "", "external meter command printing watts (split on spaces, no shell)")
	f.StringVar(&o.meterCSV, "meter-csv", "", "CSV log a USB meter logger appends to (timestamp,volts,amps,watts)")
	f.StringSliceVar(&o.commands, "command", nil, "tool path override, e.g. vcgencmd=/opt/vc/bin/vcgencmd")
	f.DurationVar(&o.sample, "sample", 0, "run the benchmark sampler this long (after --idle) and print its report")
	f.DurationVar(&o.idle, "idle", 0, "with --sample, measure idle power this long first")
	return cmd
}

type probeJSON struct {
	Name      string          `json:"name"`
	Enabled   bool            `json:"enabled"`
	Available bool            `json:"available"`
	Reason    string          `json:"reason,omitempty"`
	Details   []string        `json:"details,omitempty"`
	Reading   *probes.Reading `json:"reading,omitempty"`
}

func runProbe(ctx context.Context, out io.Writer, o probeOpts) error {
	if ctx == nil {
		ctx = context.Background()
	}
	env := probes.Env{Root: o.root, CommandTimeout: o.timeout, Interval: o.interval, MeterCSV: o.meterCSV,
		Meter: strings.Fields(o.meterCmd), Commands: map[string]string{}}
	for _, c := range o.commands {
		k, v, ok := strings.Cut(c, "=")
		if !ok || k == "" || v == "" {
			return fmt.Errorf("probe: --command %q: want tool=path", c)
		}
		env.Commands[k] = v
	}
	if o.sample > 0 {
		return runSample(ctx, out, env, o)
	}
	sts, err := probes.Open(env, o.sources)
	if err != nil {
		return err
	}
	defer probes.Close(sts)
	readings := probes.ReadAll(ctx, sts, o.timeout)
	byName := map[string]probes.Reading{}
	for _, r := range readings {
		byName[r.Source] = r
	}
	if o.jsonOut && !o.watch {
		var js []probeJSON
		for _, st := range sts {
			j := probeJSON{Name: st.Name, Enabled: st.Enabled, Available: st.Available, Reason: st.Reason}
			if d, ok := st.Probe().(probes.Describer); ok {
				j.Details = d.Describe()
			}
			if r, ok := byName[st.Name]; ok {
				j.Reading = &r
			}
			js = append(js, j)
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(js)
	}
	if !o.jsonOut {
		printStatuses(out, o.root, sts, byName)
	}
	if !o.watch {
		return nil
	}
	tk := time.NewTicker(o.interval)
	defer tk.Stop()
	start := time.Now()
	enc := json.NewEncoder(out)
	prev := map[string]counterPoint{}
	for i := 0; o.count == 0 || i < o.count; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-tk.C:
			}
			readings = probes.ReadAll(ctx, sts, o.timeout)
		}
		t := time.Since(start).Seconds()
		if o.jsonOut {
			if err := enc.Encode(struct {
				T        float64          `json:"t_s"`
				Readings []probes.Reading `json:"readings"`
			}{t, readings}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(out, "\n--- t=%.2fs\n", t)
		for _, r := range readings {
			fmt.Fprintln(out, watchLine(r, prev, t))
		}
	}
	return nil
}

func printStatuses(out io.Writer, root string, sts []probes.Status, byName map[string]probes.Reading) {
	fmt.Fprintf(out, "sources under %s:\n", root)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, st := range sts {
		state := "available"
		switch {
		case !st.Enabled:
			state = "disabled"
		case !st.Available:
			state = "unavailable"
		}
		why := st.Reason
		if st.Available {
			n := len(byName[st.Name].Metrics)
			why = fmt.Sprintf("%d readings", n)
			if e := byName[st.Name].Error; e != "" {
				why += "; error: " + e
			}
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", st.Name, state, why)
	}
	tw.Flush()
	for _, st := range sts {
		if !st.Available {
			continue
		}
		fmt.Fprintf(out, "\n%s:\n", st.Name)
		if d, ok := st.Probe().(probes.Describer); ok {
			for _, l := range d.Describe() {
				fmt.Fprintf(out, "  # %s\n", l)
			}
		}
		ms := append([]probes.Metric(nil), byName[st.Name].Metrics...)
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, m := range ms {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", m.Name, formatValue(m), m.Kind)
		}
		tw.Flush()
	}
}

// counterPoint is an energy counter's previous reading, to show power.
type counterPoint struct{ v, t float64 }

func watchLine(r probes.Reading, prev map[string]counterPoint, t float64) string {
	var parts []string
	for _, m := range r.Metrics {
		if m.Kind == probes.KindEnergy {
			// Counters mean little live: show the power since the last reading.
			p, ok := prev[m.Name]
			prev[m.Name] = counterPoint{m.Value, t}
			if !ok || t <= p.t {
				parts = append(parts, m.Name+"=(first reading)")
				continue
			}
			d := m.Value - p.v
			if d < 0 && m.Wrap > 0 {
				d += m.Wrap
			}
			parts = append(parts, fmt.Sprintf("%s=%.3f W", m.Name, d/(t-p.t)))
			continue
		}
		switch m.Kind {
		case probes.KindPower, probes.KindTemp, probes.KindFreq, probes.KindThrottle, probes.KindPercent:
			parts = append(parts, m.Name+"="+formatValue(m))
		}
	}
	line := r.Source + ": " + strings.Join(parts, " ")
	if r.Error != "" {
		line += " (error: " + r.Error + ")"
	}
	return line
}

func formatValue(m probes.Metric) string {
	switch m.Kind {
	case probes.KindPower:
		return fmt.Sprintf("%.3f W", m.Value)
	case probes.KindEnergy:
		return fmt.Sprintf("%.6f J", m.Value)
	case probes.KindTemp:
		return fmt.Sprintf("%.1f °C", m.Value)
	case probes.KindFreq:
		return fmt.Sprintf("%.0f MHz", m.Value/1e6)
	case probes.KindVoltage:
		return fmt.Sprintf("%.3f V", m.Value)
	case probes.KindCurrent:
		return fmt.Sprintf("%.3f A", m.Value)
	case probes.KindBytes:
		return fmt.Sprintf("%.1f MiB", m.Value/(1<<20))
	case probes.KindPercent:
		return fmt.Sprintf("%.1f %%", m.Value)
	case probes.KindThrottle:
		if m.Value != 0 {
			return "ON"
		}
		return "off"
	}
	return fmt.Sprintf("%g", m.Value)
}

// runSample runs the Sampler the way the benchmark runner does, with one
// "sample" phase, and prints its report.
func runSample(ctx context.Context, out io.Writer, env probes.Env, o probeOpts) error {
	iv := o.interval
	if iv == probes.DefaultInterval*10 {
		iv = probes.DefaultInterval // --interval not given: the sampler's own default
	}
	s, err := probes.NewSampler(probes.SamplerConfig{Root: env.Root, Interval: iv, Sources: o.sources,
		Commands: env.Commands, Meter: env.Meter, MeterCSV: env.MeterCSV, CommandTimeout: o.timeout,
		ReadTimeout: o.timeout + 500*time.Millisecond, IdleDuration: o.idle})
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		s.Stop()
		return err
	}
	s.Mark("sample")
	select {
	case <-time.After(o.sample):
	case <-ctx.Done():
	}
	r := s.Stop()
	if o.jsonOut {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(out, "sampled %.2fs at %v under %s\n", r.Duration, iv, o.root)
	if r.PowerSource != "" {
		fmt.Fprintf(out, "power source: %s (%s)\n", r.PowerSource, r.PowerScope)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tduration\tenergy\tavg power\tmax temp\tavg freq\tthrottle events")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "%s\t%.2fs\t%s\t%s\t%s\t%s\t%s\n", p.Phase, p.Duration, measure(p.Energy, "%.3f J", 1),
			measure(p.AvgPower, "%.3f W", 1), measure(p.MaxTemp, "%.1f °C", 1), measure(p.AvgFreq, "%.0f MHz", 1e-6),
			measure(p.ThrottleEvents, "%.0f", 1))
	}
	tw.Flush()
	fmt.Fprintf(out, "idle power: %s\n", measure(r.IdlePower, "%.3f W", 1))
	fmt.Fprintf(out, "sampler overhead: %.4f CPU-s (%.2f%% of one core), %d ticks, mean tick %.2f ms, %d commands run\n",
		r.Overhead.CPUSeconds, 100*r.Overhead.CPUFraction, r.Overhead.Ticks, r.Overhead.MeanTickMs, r.Overhead.CommandRuns)
	for _, n := range r.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
	// Reasons of unavailable figures, once each.
	seen := map[string]bool{}
	for _, p := range r.Phases {
		for _, m := range []probes.Measure{p.Energy, p.MaxTemp, p.AvgFreq, p.ThrottleEvents} {
			if !m.Available && !seen[m.Reason] {
				seen[m.Reason] = true
				fmt.Fprintf(out, "n/a: %s\n", m.Reason)
			}
		}
	}
	return nil
}

func measure(m probes.Measure, format string, scale float64) string {
	if !m.Available {
		return "n/a"
	}
	return fmt.Sprintf(format, m.Value*scale)
}
