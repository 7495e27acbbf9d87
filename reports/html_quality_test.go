package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgebench/edgebench/results"
)

func TestParetoFrontier(t *testing.T) {
	pts := []qpoint{
		{label: "f16", x: 5, y: 0.0001},
		{label: "q8_0", x: 9, y: 0.001},
		{label: "q4_0", x: 15, y: 0.02},
		{label: "q4_0 gptq", x: 15, y: 0.01}, // same speed, better: beats q4_0
		{label: "q3_k", x: 12, y: 0.05},      // slower and worse than q4_0 gptq
		{label: "q2_k", x: 20, y: 0.3},
		{label: "twin", x: 20, y: 0.3}, // equal points do not dominate each other
	}
	var got []string
	for _, p := range paretoFrontier(pts, true) {
		got = append(got, p.label)
	}
	if strings.Join(got, ",") != "f16,q8_0,q4_0 gptq,q2_k,twin" {
		t.Errorf("KLD frontier = %v", got)
	}
	// Higher is better (same-top %): the order flips.
	top := []qpoint{{label: "a", x: 10, y: 90}, {label: "b", x: 20, y: 95}, {label: "c", x: 30, y: 80}, {label: "d", x: 25, y: 70}}
	got = got[:0]
	for _, p := range paretoFrontier(top, false) {
		got = append(got, p.label)
	}
	if strings.Join(got, ",") != "b,c" {
		t.Errorf("same-top frontier = %v", got)
	}
}

func TestQualityChart(t *testing.T) {
	f := richFile()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, []*results.File{f}, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, id := range []string{`id="quality-kld-d1"`, `id="quality-top-d1"`} {
		if !strings.Contains(page, id) {
			t.Errorf("no %s", id)
		}
	}
	// Points are labelled by model and weights; the frontier is a series.
	for _, want := range []string{`"name":"Pareto frontier"`, `"name":"stories15M q4_0 gptq"`, `"formatter":"{b}"`} {
		if !strings.Contains(page, want) {
			t.Errorf("quality chart lacks %s", want)
		}
	}
}
