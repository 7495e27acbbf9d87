// Tokenizes test texts with llama.cpp itself (through the node-llama-cpp
// package) for TestLlamaCppTokenizer. Usage:
//   node llamacpp_tokenize.mjs NODE_LLAMA_CPP_PACKAGE_DIR CASES.json
// CASES.json: {"models": {"name": "file.gguf", ...}, "texts": [...], "ids": {"name": [[...], ...]}}
// Prints JSON: {name: {"plain": [[ids]...], "special": [[ids]...],
//                      "detok": [str...], "detokSpecial": [str...]}}
// where detok* are llama_detokenize of the given ids (remove_special=false).
import {pathToFileURL} from "node:url";
import {join} from "node:path";
import fs from "node:fs";

const [pkg, casesPath] = process.argv.slice(2);
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(join(pkg, "dist", "index.js")).href);
const cases = JSON.parse(fs.readFileSync(casesPath, "utf8"));
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const out = {};
for (const [name, file] of Object.entries(cases.models)) {
  const model = await llama.loadModel({modelPath: file, vocabOnly: true});
  const r = {plain: [], special: [], detok: [], detokSpecial: []};
  for (const text of cases.texts) {
    r.plain.push(Array.from(model.tokenize(text, false)));
    r.special.push(Array.from(model.tokenize(text, true)));
  }
  for (const ids of cases.ids[name]) {
    r.detok.push(model.detokenize(ids, false));
    r.detokSpecial.push(model.detokenize(ids, true));
  }
  out[name] = r;
  await model.dispose();
}
process.stdout.write(JSON.stringify(out));
