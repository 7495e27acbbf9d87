// Package results defines edgebench's versioned result schema and its
// append-only JSONL store. A results file is a sequence of JSON lines: one
// "run" record (who measured what, on which device) followed by one "cell"
// record per finished benchmark cell, each written and synced as soon as the
// cell ends so a killed run keeps every finished cell.
package results

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/edgebench/edgebench/device"
	"github.com/edgebench/edgebench/probes"
)

// SchemaVersion is bumped whenever a field changes meaning or is removed.
// Readers refuse files with a newer major schema than they know.
//
// 2: a cell's KVType "" (the runtime default) means f16, as llama.cpp's
// default cache; in schema 1 it meant f32. Reading a schema 1 cell makes
// its f32 explicit (upgradeV1), so its ID carries /kv=f32 and never pairs
// with a schema 2 default cell, which measured another cache.
const SchemaVersion = 2

// DefaultKVType is the KV cache a cell without a KVType runs (the runner's
// and the CLI's default, as llama.cpp's): half the bytes of f32 per cached
// position; on this project's kernels as fast as f32 on an empty cache and
// about 35-40% faster at 1024 cached positions (SmolLM2-135M, 2026-11-25).
const DefaultKVType = "f16"

// Record kinds.
const (
	KindRun  = "run"
	KindCell = "cell"
)

// Run is the first record of every run: the context all its cells share.
type Run struct {
	Kind        string             `json:"kind"` // "run"
	Schema      int                `json:"schema"`
	RunID       string             `json:"run_id"`
	Suite       string             `json:"suite"`
	Started     time.Time          `json:"started"`
	Edgebench   Build              `json:"edgebench"`
	Device      device.Fingerprint `json:"device"`
	Roofline    *device.Roofline   `json:"roofline,omitempty"`
	RooflineErr string             `json:"roofline_error,omitempty"`
	Args        []string           `json:"args,omitempty"`
	Env         map[string]string  `json:"env,omitempty"` // EDGEBENCH_* and GOMAXPROCS as set for the run
}

// Build identifies the edgebench binary that produced a file.
type Build struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Dirty   bool   `json:"dirty,omitempty"`
	Go      string `json:"go"`
}

// Cell statuses.
const (
	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Cell is one point of a sweep: its configuration, the raw samples, the
// summarised metrics and every warning the measurement produced.
type Cell struct {
	Kind   string     `json:"kind"` // "cell"
	Schema int        `json:"schema"`
	RunID  string     `json:"run_id"`
	ID     string     `json:"id"` // stable key of Config; resume and compare match on it
	Config CellConfig `json:"config"`
	Status string     `json:"status"`
	// Partial marks a cell cut short (an interrupted soak): its figures
	// cover what ran, and --resume runs it again.
	Partial  bool              `json:"partial,omitempty"`
	Error    string            `json:"error,omitempty"`
	Started  time.Time         `json:"started"`
	Elapsed  time.Duration     `json:"elapsed_ns"`
	Backends map[string]string `json:"backends,omitempty"` // weight type -> backend that really ran
	Model    *ModelInfo        `json:"model,omitempty"`
	Metrics  []Metric          `json:"metrics,omitempty"`
	Warnings []string          `json:"warnings,omitempty"`
	// Probes is the sensor sampler's report for the cell: per-phase energy,
	// power, temperature, frequency and throttling, each with availability.
	Probes *probes.Report `json:"probes,omitempty"`
	// Series are measured time series of the cell, e.g. a soak's decode
	// tok/s per window (name MetricDecode). Sensor timelines live in
	// Probes.Timeline.
	Series []Series `json:"series,omitempty"`
}

// CellConfig is what a cell asked for. Fields are the sweep's axes.
type CellConfig struct {
	Model        string `json:"model"`       // preset name or GGUF path
	WeightType   string `json:"weight_type"` // ggml type name, e.g. "q4_0"
	Backend      string `json:"backend"`     // requested backend ("auto" = best for this CPU)
	Threads      int    `json:"threads"`
	PromptTokens int    `json:"prompt_tokens"`
	GenTokens    int    `json:"gen_tokens"`
	Seed         uint64 `json:"seed"`
	// Compression axes. Empty means what plain generation does (block-wise
	// rounding into WeightType, no pruning); they join the ID only when set,
	// so results files written before these axes existed keep their keys.
	Method   string `json:"method,omitempty"`   // quantization method: rtn, awq, gptq
	Prune    string `json:"prune,omitempty"`    // pruner: magnitude, wanda, sparsegpt
	Sparsity string `json:"sparsity,omitempty"` // with Prune: "0.5", "2:4", "4:8"

	// Depth is the number of tokens already in the KV cache when the
	// prompt is processed and decoding starts (llama-bench's -d): attention
	// cost grows with it. 0 = an empty cache.
	Depth int `json:"depth,omitempty"`
	// KVType is the KV cache element type (f32, f16, q8_0); "" = the
	// runtime's default, DefaultKVType (schema 1 files: f32, made explicit
	// on reading).
	KVType string `json:"kv_type,omitempty"`
	// SoakSeconds > 0 makes the cell a soak: decode without pause for this
	// long and record tok/s per window against time (Cell.Series) beside the
	// sensor timeline, instead of repeating short measurements.
	SoakSeconds int `json:"soak_s,omitempty"`
}

// ID is the stable key of a cell configuration: resume skips cells whose ID
// is already in the results file, and compare pairs cells by it.
func (c CellConfig) ID() string {
	id := fmt.Sprintf("model=%s/type=%s/backend=%s/threads=%d/prompt=%d/gen=%d/seed=%d",
		c.Model, c.WeightType, c.Backend, c.Threads, c.PromptTokens, c.GenTokens, c.Seed)
	if c.Method != "" {
		id += "/method=" + c.Method
	}
	if c.Prune != "" || c.Sparsity != "" {
		id += "/prune=" + c.Prune + "/sparsity=" + c.Sparsity
	}
	// Axes added later join the ID only when set, so the IDs of older
	// results files (and resume and compare across them) stay valid.
	if c.Depth != 0 {
		id += fmt.Sprintf("/depth=%d", c.Depth)
	}
	if c.KVType != "" {
		id += "/kv=" + c.KVType
	}
	if c.SoakSeconds != 0 {
		id += fmt.Sprintf("/soak=%ds", c.SoakSeconds)
	}
	return id
}

// Weights names the cell's weights as a person reads them: the type, then
// the compression method and pruning when set ("q4_0", "q4_0 gptq",
// "q4_0 wanda 2:4"), so tables tell apart cells that differ only on those.
func (c CellConfig) Weights() string {
	l := c.WeightType
	if c.Method != "" {
		l += " " + c.Method
	}
	if c.Prune != "" {
		l += " " + c.Prune + " " + c.Sparsity
	}
	return l
}

// ModelInfo describes the model file a cell ran.
type ModelInfo struct {
	Arch          string  `json:"arch"`
	Params        int64   `json:"params"`
	FileBytes     int64   `json:"file_bytes"`
	WeightBytes   int64   `json:"weight_bytes"`    // bytes of tensor data
	BitsPerWeight float64 `json:"bits_per_weight"` // weight bits / parameters
	BytesPerToken int64   `json:"bytes_per_token"` // weight bytes one decode step reads
	SHA256        string  `json:"sha256,omitempty"`
}

// Where a number came from.
const (
	SourceMeasured    = "measured"
	SourceDerived     = "derived" // computed from measured numbers (e.g. bandwidth = bytes/token × tok/s)
	SourceEstimated   = "estimated"
	SourceUnavailable = "unavailable"
)

// Metric is one named quantity of a cell. Samples holds the raw per-repetition
// values (the summary can always be recomputed from them); Median/Low/High is
// the median and its confidence interval at Confidence. An unavailable metric
// has no numbers, only the reason.
type Metric struct {
	Name       string    `json:"name"`
	Unit       string    `json:"unit"`
	Better     string    `json:"better,omitempty"` // "higher" or "lower"
	Source     string    `json:"source"`
	Reason     string    `json:"reason,omitempty"`
	Samples    []float64 `json:"samples,omitempty"`
	Median     float64   `json:"median"`
	Low        float64   `json:"low"`
	High       float64   `json:"high"`
	Confidence float64   `json:"confidence,omitempty"`
}

// Metric returns the metric called name, if the cell has it.
func (c *Cell) Metric(name string) (Metric, bool) {
	for _, m := range c.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// metricJSON is Metric on the wire: JSON has no NaN, so a number that does
// not exist (an unavailable metric) is written as null and read back as NaN.
type metricJSON struct {
	Name       string    `json:"name"`
	Unit       string    `json:"unit"`
	Better     string    `json:"better,omitempty"`
	Source     string    `json:"source"`
	Reason     string    `json:"reason,omitempty"`
	Samples    []float64 `json:"samples,omitempty"`
	Median     *float64  `json:"median"`
	Low        *float64  `json:"low"`
	High       *float64  `json:"high"`
	Confidence float64   `json:"confidence,omitempty"`
}

func numPtr(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

func ptrNum(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// MarshalJSON writes NaN and infinities as null.
func (m Metric) MarshalJSON() ([]byte, error) {
	for _, s := range m.Samples {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("metric %s: sample %v is not a finite number", m.Name, s)
		}
	}
	return json.Marshal(metricJSON{m.Name, m.Unit, m.Better, m.Source, m.Reason, m.Samples,
		numPtr(m.Median), numPtr(m.Low), numPtr(m.High), m.Confidence})
}

// UnmarshalJSON reads null numbers back as NaN.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var j metricJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Metric{j.Name, j.Unit, j.Better, j.Source, j.Reason, j.Samples,
		ptrNum(j.Median), ptrNum(j.Low), ptrNum(j.High), j.Confidence}
	return nil
}

// Series is one measured quantity against time since the cell started.
// T and V have equal lengths; T is increasing.
type Series struct {
	Name string    `json:"name"` // a metric name, e.g. MetricDecode
	Unit string    `json:"unit"`
	T    []float64 `json:"t_s"`
	V    []float64 `json:"v"`
}
