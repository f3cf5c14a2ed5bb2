// transformers.js as a benchmark contender (issue 24): @huggingface/transformers on onnxruntime-node (CPU) scoring the
// benchmark's token ids through an optimum-layout ONNX export of the same model (tools/model/export_onnx.py).
//
//   node tools/transformersjs/bench.mjs --model ONNX_DIR --ids IDS.json [--threads 2] [--warmup 1] [--runs 3] [--print-logits]
//
// As a transformers.js user runs a reranker: AutoModelForSequenceClassification with its default session options except
// the thread count, dtype fp32, and one call per request with every pair padded to the longest (what its tokenizer's
// `padding: true` gives). The ids are the suite's own (tokenization is not timed, as on the PyTorch side), so all three
// contenders see the same tokens. Prints one JSON object like tools/model/bench_reference.py's (run_seconds, peak RSS).
import fs from "node:fs";
import path from "node:path";
import { AutoModelForSequenceClassification, Tensor, env } from "@huggingface/transformers";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => {
  if (a.startsWith("--")) pairs.push([a.slice(2), all[i + 1] && !all[i + 1].startsWith("--") ? all[i + 1] : "true"]);
  return pairs;
}, []));
if (!args.model || !args.ids) {
  console.error("usage: node bench.mjs --model ONNX_DIR --ids IDS.json [--threads 2] [--warmup 1] [--runs 3] [--print-logits]");
  process.exit(2);
}
const threads = Number(args.threads ?? 2), warmup = Number(args.warmup ?? 1), runs = Number(args.runs ?? 3);

// A local folder only: never the hub.
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = path.dirname(path.resolve(args.model));
const name = path.basename(path.resolve(args.model));
const config = JSON.parse(fs.readFileSync(path.join(args.model, "config.json"), "utf8"));
const external = fs.existsSync(path.join(args.model, "onnx", "model.onnx_data"));

const loadStart = performance.now();
const model = await AutoModelForSequenceClassification.from_pretrained(name, {
  dtype: "fp32",
  device: "cpu",
  local_files_only: true,
  use_external_data_format: external,
  session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
});
const loadSeconds = (performance.now() - loadStart) / 1000;

// One request: every sequence padded to the longest, as the tokenizer's padding: true does.
const sequences = JSON.parse(fs.readFileSync(args.ids, "utf8")).map((s) => (Array.isArray(s) ? s : s.input_ids));
const B = sequences.length, T = Math.max(...sequences.map((s) => s.length));
const pad = config.pad_token_id ?? 0;
const ids = new BigInt64Array(B * T).fill(BigInt(pad));
const mask = new BigInt64Array(B * T);
const types = new BigInt64Array(B * T);
const bert = config.model_type === "bert";
sequences.forEach((s, b) => {
  const sep = bert ? s.indexOf(102) : -1;
  s.forEach((id, t) => {
    ids[b * T + t] = BigInt(id);
    mask[b * T + t] = 1n;
    if (bert && sep >= 0 && t > sep) types[b * T + t] = 1n;   // BERT's pair template: segment 1 after the first [SEP]
  });
});
const inputs = { input_ids: new Tensor("int64", ids, [B, T]), attention_mask: new Tensor("int64", mask, [B, T]) };
if (bert) inputs.token_type_ids = new Tensor("int64", types, [B, T]);

let logits = null;
const times = [];
for (let r = 0; r < warmup + runs; r++) {
  const start = performance.now();
  const output = await model(inputs);
  const seconds = (performance.now() - start) / 1000;
  if (r >= warmup) times.push(seconds);
  logits = Array.from(output.logits.data);
}
const sorted = [...times].sort((a, b) => a - b);
const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const status = fs.readFileSync("/proc/self/status", "utf8");
const mib = (key) => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))[1]) / 1024;
const pkg = JSON.parse(fs.readFileSync(new URL("./node_modules/@huggingface/transformers/package.json", import.meta.url), "utf8"));
const ort = JSON.parse(fs.readFileSync(new URL("./node_modules/onnxruntime-node/package.json", import.meta.url), "utf8"));
const result = {
  engine: `transformers.js ${pkg.version} (onnxruntime-node ${ort.version}, cpu, fp32)`,
  threads,
  model: path.resolve(args.model),
  load_seconds: Number(loadSeconds.toFixed(2)),
  sequences: B,
  batches_b_x_t: [[B, T]],
  warmup_runs: warmup,
  run_seconds: times.map((t) => Number(t.toFixed(4))),
  median_seconds: Number(median.toFixed(4)),
  peak_rss_mib: Number(mib("VmHWM").toFixed(1)),
};
if (args["print-logits"] === "true") result.logits = logits;
console.log(JSON.stringify(result, null, 2));
