package transformer

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgebench/edgebench/kernels"
	"github.com/edgebench/edgebench/model"
	"github.com/edgebench/edgebench/model/tokenizer"
	"github.com/edgebench/edgebench/stats"
)

// llamaCppSpeedScript times llama.cpp on a token stream: it evaluates the
// prompt in one batch, then each further token on its own, and prints the
// milliseconds of the prompt and of each single-token step. One thread, as
// node-llama-cpp's thread use distorts 2-thread timings on a 2-vCPU VM.
const llamaCppSpeedScript = `
import path from "node:path";
import {pathToFileURL} from "node:url";
import {performance} from "node:perf_hooks";
const [dir, modelPath, promptJSON, decodeJSON, mmap] = process.argv.slice(2);
const {getLlama} = await import(pathToFileURL(path.join(dir, "node_modules/node-llama-cpp/dist/index.js")));
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const model = await llama.loadModel({modelPath, useMmap: mmap === "1"});
const prompt = JSON.parse(promptJSON), decode = JSON.parse(decodeJSON);
const ctx = await model.createContext({contextSize: 512, threads: 1, batchSize: 512, flashAttention: false});
const seq = ctx.getSequence();
const p0 = performance.now();
await seq.controlledEvaluate(prompt.map(t => [t, {}]));
const prefill = performance.now() - p0;
const ms = [];
for (const t of decode) {
  const t0 = performance.now();
  await seq.controlledEvaluate([[t, {}]]);
  ms.push(performance.now() - t0);
}
console.log(JSON.stringify({prefill, ms}));
await ctx.dispose(); await model.dispose();
`

// BenchmarkLlamaCppDecode compares single-token decode time, one thread,
// of llama.cpp (node-llama-cpp's prebuilt CPU build, $EDGEBENCH_NODE_LLAMA_CPP
// as for TestLlamaCppCrossCheck) and of this runtime, on each GGUF file in
// $EDGEBENCH_BENCH_MODELS (comma-separated; edgebench's synthetic files get
// a synthetic SentencePiece vocabulary of their size first, since llama.cpp
// aborts on a file without one). Both get the same 64-token prompt and then
// decode the same 32 tokens with an f16 KV cache and memory-mapped weights
// ($EDGEBENCH_BENCH_MEM=nommap: both read the weights into memory instead);
// the two alternate over $EDGEBENCH_BENCH_ROUNDS rounds (default 3) so a
// shared machine's drift hits both. It reports the median milliseconds
// per decoded token of each and their ratio (llama.cpp over edgebench:
// above 1 means this runtime is faster), and logs the same for the
// prompt's prefill (median over the rounds). node-llama-cpp's per-call overhead (a
// JavaScript promise per token, tens of µs) counts against llama.cpp.
//
//	EDGEBENCH_NODE_LLAMA_CPP=/path/with/node_modules \
//	EDGEBENCH_BENCH_MODELS=$HOME/.cache/edgebench/models/SmolLM2-135M-q4_0-seed1-dc0e93472ede.gguf \
//	    go test -run '^$' -bench LlamaCppDecode -benchtime 1x ./transformer/
func BenchmarkLlamaCppDecode(b *testing.B) {
	dir, list := os.Getenv(LlamaCppEnv), os.Getenv("EDGEBENCH_BENCH_MODELS")
	if dir == "" || list == "" {
		b.Skipf("needs $%s and $EDGEBENCH_BENCH_MODELS", LlamaCppEnv)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		b.Fatal("node is not on PATH")
	}
	nommap := os.Getenv("EDGEBENCH_BENCH_MEM") == "nommap"
	rounds := 3
	if r := os.Getenv("EDGEBENCH_BENCH_ROUNDS"); r != "" {
		if rounds, err = strconv.Atoi(r); err != nil || rounds < 1 {
			b.Fatalf("EDGEBENCH_BENCH_ROUNDS=%q", r)
		}
	}
	work := b.TempDir()
	script := filepath.Join(work, "speed.mjs")
	if err := os.WriteFile(script, []byte(llamaCppSpeedScript), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, src := range strings.Split(list, ",") {
		f := openModel(b, src)
		cfg, err := model.ConfigFromGGUF(f)
		if err != nil {
			b.Fatal(err)
		}
		path := src
		if tm, err := f.String(tokenizer.KeyModel); err != nil || tm == "none" {
			kv, err := tokenizer.SyntheticKV(cfg.Vocab, "")
			if err != nil {
				b.Fatal(err)
			}
			path = filepath.Join(work, filepath.Base(src))
			copyWithKV(b, f, path, kv)
		}
		// Normal tokens only (past the SentencePiece vocabulary's <unk>,
		// <s>, </s> and byte tokens), so no side treats one as control.
		stream := randTokens(96, cfg.Vocab-259, 5)
		for i := range stream {
			stream[i] += 259
		}
		prompt, decode := stream[:64], stream[64:]
		pj, _ := json.Marshal(prompt)
		dj, _ := json.Marshal(decode)
		mm := "1"
		if nommap {
			mm = "0"
		}
		var theirs, ours, theirPrefill, ourPrefill []float64
		for range rounds {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			out, err := exec.CommandContext(ctx, node, script, dir, path, string(pj), string(dj), mm).Output()
			cancel()
			if err != nil {
				b.Fatalf("node-llama-cpp on %s: %v", path, err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			var res struct {
				Prefill float64
				MS      []float64
			}
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
				b.Fatalf("node output %q: %v", out, err)
			}
			theirs = append(theirs, res.MS...)
			theirPrefill = append(theirPrefill, res.Prefill)

			g := openModel(b, path)
			m := mustLoad(b, g, Options{Threads: 1, KVType: kernels.F16, MaxContext: 512, NoMmap: nommap})
			t0 := time.Now()
			if _, err := m.Prefill(prompt); err != nil {
				b.Fatal(err)
			}
			ourPrefill = append(ourPrefill, float64(time.Since(t0).Nanoseconds())/1e6)
			for _, t := range decode {
				t0 := time.Now()
				if _, err := m.Decode(t); err != nil {
					b.Fatal(err)
				}
				ours = append(ours, float64(time.Since(t0).Nanoseconds())/1e6)
			}
			m.Close()
		}
		lt, et := stats.Median(theirs), stats.Median(ours)
		lp, ep := stats.Median(theirPrefill), stats.Median(ourPrefill)
		b.Logf("%s: decode llama.cpp %.3f ms/token (%d tokens), edgebench %.3f: llama.cpp/edgebench %.3f; %d-token prefill llama.cpp %.1f ms, edgebench %.1f: %.3f",
			filepath.Base(src), lt, len(theirs), et, lt/et, len(prompt), lp, ep, lp/ep)
		if len(strings.Split(list, ",")) == 1 {
			b.ReportMetric(lt, "llamacpp-ms/tok")
			b.ReportMetric(et, "edgebench-ms/tok")
			b.ReportMetric(lt/et, "ratio")
		}
	}
}
