package baselines

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const runRec = `{"kind":"run","schema":1,"run_id":"r1","suite":"quick","started":"2026-11-20T10:00:00Z","edgebench":{"version":"v0.1.0","go":"go1.26.8"},"device":{"hostname":"pi","board":"Raspberry Pi 5","cpu_model":"ARM Cortex-A76","arch":"arm64","os":"linux","go_version":"go1.26.8","governor":"performance","cores":4,"threads":4,"features":["asimd"]}}`
const cellRec = `{"kind":"cell","schema":1,"run_id":"r1","id":"model=m/type=q4_0/backend=auto/threads=4/prompt=8/gen=8/seed=1","config":{"model":"m","weight_type":"q4_0","backend":"auto","threads":4,"prompt_tokens":8,"gen_tokens":8,"seed":1},"status":"ok","started":"2026-11-20T10:00:01Z","elapsed_ns":1,"metrics":[{"name":"decode_tok_s","unit":"tok/s","better":"higher","source":"measured","samples":[10,11,12],"median":11,"low":10,"high":12}]}`

func write(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSaveLoadList(t *testing.T) {
	src := t.TempDir()
	res := write(t, src, "r.jsonl", runRec, cellRec)
	st := OpenDir(filepath.Join(t.TempDir(), "store"))

	info, err := st.Save("pi5-quick", res, false)
	if err != nil {
		t.Fatal(err)
	}
	if info.Device != "Raspberry Pi 5" || info.Cells != 1 || info.Runs != 1 || info.Fingerprint == "" {
		t.Fatalf("info = %+v", info)
	}
	// Stored verbatim: the raw samples survive byte for byte.
	got, _ := os.ReadFile(info.Path)
	want, _ := os.ReadFile(res)
	if string(got) != string(want) {
		t.Fatal("baseline is not a verbatim copy of the results file")
	}
	f, err := st.Load("pi5-quick")
	if err != nil || len(f.Cells) != 1 || len(f.Cells[0].Metrics[0].Samples) != 3 {
		t.Fatalf("load: %v %+v", err, f)
	}
	if _, err := st.Save("pi5-quick", res, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("overwrite without force: %v", err)
	}
	if _, err := st.Save("pi5-quick", res, true); err != nil {
		t.Fatalf("overwrite with force: %v", err)
	}
	if _, err := st.Save("other", res, false); err != nil {
		t.Fatal(err)
	}
	// A broken file in the store is listed with its error, not fatal.
	write(t, st.Dir, "broken.jsonl", `{"kind":"cell"`, `x`)
	infos, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
	}
	if strings.Join(names, ",") != "broken,other,pi5-quick" || len(infos[0].Warnings) == 0 {
		t.Fatalf("list = %+v", infos)
	}
	// No temp files left behind.
	entries, _ := os.ReadDir(st.Dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("left %s behind", e.Name())
		}
	}
}

func TestSaveRefuses(t *testing.T) {
	src := t.TempDir()
	st := OpenDir(t.TempDir())
	otherDevice := strings.Replace(strings.Replace(runRec, `"r1"`, `"r2"`, 1), "Raspberry Pi 5", "Jetson Orin", 1)
	failed := `{"kind":"cell","schema":1,"run_id":"r1","id":"x","config":{},"status":"failed","error":"boom","started":"2026-11-20T10:00:01Z","elapsed_ns":1}`
	for _, tc := range []struct {
		name, file, want string
		lines            []string
	}{
		{"ok-name", "nodevice.jsonl", "no run record", []string{cellRec}},
		{"ok-name", "twodevices.jsonl", "more than one device", []string{runRec, cellRec, otherDevice}},
		{"ok-name", "nocells.jsonl", "no successful cell", []string{runRec, failed}},
		{"ok-name", "truncated.jsonl", "truncated", []string{runRec, cellRec, `{"kind":"cell","sch`}},
		{"../escape", "r.jsonl", "invalid name", []string{runRec, cellRec}},
		{"Upper", "r.jsonl", "invalid name", []string{runRec, cellRec}},
	} {
		p := write(t, src, tc.file, tc.lines...)
		if tc.file == "truncated.jsonl" {
			// No final newline: what a killed writer leaves.
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.TrimSuffix(string(b), "\n")), 0o644)
		}
		if _, err := st.Save(tc.name, p, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s as %q: err = %v, want %q", tc.file, tc.name, err, tc.want)
		}
	}
	if _, err := st.Load("missing"); err == nil {
		t.Error("loading a missing baseline succeeded")
	}
	if _, err := st.Load("../../etc/passwd"); err == nil {
		t.Error("a path was accepted as a baseline name")
	}
}

// The built-in store is the embedded baselines/data: whatever is shipped
// there must load (a broken or invented file would fail here).
func TestBuiltinBaselinesLoad(t *testing.T) {
	st := Open(t.TempDir())
	infos, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if !in.Builtin {
			t.Errorf("%s: not built in", in.Name)
		}
		if _, err := st.Load(in.Name); err != nil {
			t.Errorf("built-in baseline %s: %v", in.Name, err)
		}
		if in.Fingerprint == "" || in.Cells == 0 {
			t.Errorf("built-in baseline %s lacks a fingerprint or cells: %+v", in.Name, in)
		}
	}
}
