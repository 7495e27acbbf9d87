package reports

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/edgebench/edgebench/probes"
	"github.com/edgebench/edgebench/results"
)

// soakSparkWidth is the most columns a soak's sparkline takes.
const soakSparkWidth = 60

// SoakTable writes, for every soak cell (one with a decode tok/s series),
// a few lines under the sweep table: a sparkline of tok/s per window, the
// speed over the first minute against the last, and where the sensors
// recorded them, temperature, frequency and power over the same spans. It
// writes nothing when there is no soak cell.
//
// The spans are the soak's first and last minute (its first and last
// quarter when it is shorter than 4 minutes), measured from the decode
// phase's edges when the cell has probes, else from the windows'.
func SoakTable(w io.Writer, cells []results.Cell) error {
	var b strings.Builder
	for _, c := range cells {
		s, ok := decodeSeries(c)
		if !ok || len(s.V) == 0 {
			continue
		}
		from, to := soakEdges(c, s)
		span := math.Min(60, (to-from)/4)
		fmt.Fprintf(&b, "\nsoak: %s %s t=%d, %.0f s decoding, %d windows\n", c.Config.Model, c.Config.Weights(), c.Config.Threads, to-from, len(s.V))
		lo, hi := minMax(s.V)
		fmt.Fprintf(&b, "  tok/s %s  %.1f–%.1f\n", sparkline(s.V, lo, hi), lo, hi)
		if len(s.V) < 2 {
			fmt.Fprintf(&b, "  tok/s %.1f in one window: nothing to compare the end with\n", s.V[0])
			continue
		}
		first, last := spanMeans(s.T, s.V, from, to, span)
		fmt.Fprintf(&b, "  tok/s 0–%.0f s: %.1f, last %.0f s: %.1f (%s)\n", span, first, span, last, signedPct(last/first-1))
		if c.Probes != nil {
			var parts []string
			for _, name := range []string{"temp_c", "freq_mhz", "power_w"} {
				ts, ok := timeline(c.Probes, name)
				if !ok {
					continue
				}
				a, z := spanMeans(ts.T, ts.V, from, to, span)
				if math.IsNaN(a) || math.IsNaN(z) {
					continue
				}
				// A throttled clock shows in its lowest reading; heat and power in their highest.
				lo, hi := minMax(ts.V)
				extreme := fmt.Sprintf("peak %.4g", hi)
				if name == "freq_mhz" {
					extreme = fmt.Sprintf("lowest %.4g", lo)
				}
				parts = append(parts, fmt.Sprintf("%s %.4g → %.4g %s (%s)", strings.SplitN(name, "_", 2)[0], a, z, ts.Unit, extreme))
			}
			if len(parts) == 0 {
				parts = append(parts, "no temperature, frequency or power readings on this device (see the warnings)")
			}
			fmt.Fprintf(&b, "  sensors, same spans: %s\n", strings.Join(parts, "; "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func decodeSeries(c results.Cell) (results.Series, bool) {
	for _, s := range c.Series {
		if s.Name == results.MetricDecode && len(s.T) == len(s.V) {
			return s, true
		}
	}
	return results.Series{}, false
}

func timeline(r *probes.Report, name string) (probes.TimelineSeries, bool) {
	for _, s := range r.Timeline {
		if s.Name == name && len(s.T) == len(s.V) && len(s.T) > 0 {
			return s, true
		}
	}
	return probes.TimelineSeries{}, false
}

// soakEdges is when decoding began and ended: the decode phase's span, or
// the windows' extent estimated from their middles.
func soakEdges(c results.Cell, s results.Series) (from, to float64) {
	if c.Probes != nil {
		for _, sp := range c.Probes.Spans {
			if sp.Phase == "decode" && sp.End > sp.Start {
				return sp.Start, sp.End
			}
		}
	}
	half := 0.5
	if n := len(s.T); n > 1 {
		half = (s.T[n-1] - s.T[0]) / float64(n-1) / 2
	}
	return s.T[0] - half, s.T[len(s.T)-1] + half
}

// spanMeans is the mean of the values whose times fall in the first span
// seconds after from, and in the last span seconds before to; the first
// and last values stand in when no point falls in a span.
func spanMeans(t, v []float64, from, to, span float64) (first, last float64) {
	var sa, na, sz, nz float64
	for i := range t {
		if t[i] >= from && t[i] <= from+span {
			sa, na = sa+v[i], na+1
		}
		if t[i] >= to-span && t[i] <= to {
			sz, nz = sz+v[i], nz+1
		}
	}
	if na == 0 || nz == 0 {
		in := []int{}
		for i := range t {
			if t[i] >= from && t[i] <= to {
				in = append(in, i)
			}
		}
		if len(in) == 0 {
			return math.NaN(), math.NaN()
		}
		if na == 0 {
			sa, na = v[in[0]], 1
		}
		if nz == 0 {
			sz, nz = v[in[len(in)-1]], 1
		}
	}
	return sa / na, sz / nz
}

func signedPct(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "n/a"
	}
	if x < 0 {
		return fmt.Sprintf("−%.1f%%", -100*x) // a real minus sign, as in the tables
	}
	return fmt.Sprintf("+%.1f%%", 100*x)
}

func minMax(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// sparkline draws values between lo and hi in eighths of a cell, at most
// soakSparkWidth columns (each the mean of its share of the values).
func sparkline(v []float64, lo, hi float64) string {
	const bars = "▁▂▃▄▅▆▇█"
	levels := []rune(bars)
	cols := min(len(v), soakSparkWidth)
	var b strings.Builder
	for c := range cols {
		a, z := c*len(v)/cols, (c+1)*len(v)/cols
		sum := 0.0
		for _, x := range v[a:z] {
			sum += x
		}
		m := sum / float64(z-a)
		i := len(levels) - 1
		if hi > lo {
			i = int(math.Round((m - lo) / (hi - lo) * float64(len(levels)-1)))
		}
		b.WriteRune(levels[max(0, min(len(levels)-1, i))])
	}
	return b.String()
}
