// Sentence embeddings, deepclust against PyTorch's mean-pooled BERT (the reference
// implementation's embedding step, bench/reference/embed_torch.py), on the same texts in the same
// run: the bundled Reuters example's training texts, each side tokenising, batching by length
// (batch 32 on both), running the model and mean-pooling; the time excludes loading the model.
// PyTorch runs at its best: torch threads 1/2 × OMP_WAIT_POLICY unset/PASSIVE swept first (one
// round each), then 3 alternating rounds of deepclust, PyTorch's best setting and PyTorch out of
// the box; medians and the ratio. Also `deepclust embed` as a whole command (CSV in, CSV out,
// process start to exit). The two sides' embeddings are compared once (max |difference|).
// Models: the committed tiny BERT (test/fixtures/tiny-bert) and, when DEEPCLUST_EMBED_MODEL names a
// real folder (a WordPiece model with pytorch_model.bin or model.safetensors), that one.
//
//   npm run build && node --import tsx bench/embed-throughput.ts [--texts 6018] [--rounds 3]

import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse } from "csv-parse/sync";
import { SentenceEncoder, readNpy } from "../src/index.js";
import { runCliJson } from "./generated-data.js";
import { machine } from "./torch-sweep.js";

const { values: a } = parseArgs({
  options: { texts: { type: "string", default: "6018" }, rounds: { type: "string", default: "3" } },
});
const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const peerScript = new URL("./reference/embed_torch.py", import.meta.url).pathname;
const results = new URL("./results/embed-throughput.jsonl", import.meta.url).pathname;
const rows = (
  parse(readFileSync(new URL("../examples/reuters/train.csv", import.meta.url)), { columns: true }) as Array<{
    id: string;
    text: string;
  }>
).slice(0, Number(a.texts));
const texts = rows.map((r) => r.text.replace(/\n/g, " "));
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

const models: Array<[string, string]> = [
  ["tiny-bert (fixture)", new URL("../test/fixtures/tiny-bert", import.meta.url).pathname],
];
if (process.env.DEEPCLUST_EMBED_MODEL) models.push(["DEEPCLUST_EMBED_MODEL", process.env.DEEPCLUST_EMBED_MODEL]);
else console.log("no real model: set DEEPCLUST_EMBED_MODEL to a model folder to measure one");

interface PeerSetting {
  threads: number;
  wait: "unset" | "PASSIVE";
}
const SWEEP: PeerSetting[] = [1, 2].flatMap((threads) =>
  (["unset", "PASSIVE"] as const).map((wait) => ({ threads, wait })),
);
const OOTB: PeerSetting = { threads: 0, wait: "unset" };
const label = (s: PeerSetting) =>
  s.threads === 0 ? "out of the box" : `threads ${s.threads}, OMP_WAIT_POLICY ${s.wait}`;

function peer(folder: string, file: string, s: PeerSetting, out?: string): number {
  const env = { ...process.env };
  delete env.OMP_WAIT_POLICY;
  if (s.wait === "PASSIVE") env.OMP_WAIT_POLICY = "PASSIVE";
  const args = [peerScript, "--model", folder, "--texts", file, "--threads", String(s.threads)];
  const r = spawnSync("/usr/bin/python3", out ? [...args, "--out", out] : args, { encoding: "utf8", env });
  if (r.status !== 0) throw new Error(`embed_torch.py: ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { textsPerSecond: number }).textsPerSecond;
}

async function deepclust(folder: string): Promise<number> {
  const enc = await SentenceEncoder.load(folder, { threads: 0 });
  const t0 = performance.now();
  await enc.embed(texts);
  const rate = texts.length / ((performance.now() - t0) / 1000);
  await enc.release();
  return rate;
}

const dir = mkdtempSync(join(tmpdir(), "deepclust-embed-bench-"));
try {
  const txt = join(dir, "texts.txt");
  writeFileSync(txt, texts.join("\n") + "\n");
  const csv = join(dir, "texts.csv");
  writeFileSync(csv, "id,text\n" + rows.map((r) => `${r.id},"${r.text.replace(/"/g, '""')}"`).join("\n") + "\n");
  for (const [name, folder] of models) {
    // The same numbers on both sides, first.
    const enc = await SentenceEncoder.load(folder, { threads: 0 });
    const ours = await enc.embed(texts);
    await enc.release();
    peer(folder, txt, { threads: 2, wait: "unset" }, join(dir, "peer.npy"));
    const theirs = readNpy(join(dir, "peer.npy"));
    let maxDiff = 0;
    for (let i = 0; i < ours.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours.data[i]! - theirs.data[i]!));
    console.log(`${name}: ${texts.length} texts, max |deepclust − PyTorch| = ${maxDiff.toExponential(2)}`);

    const sweep = SWEEP.map((s) => ({ s, rate: peer(folder, txt, s) }));
    for (const { s, rate } of sweep) console.log(`  sweep: PyTorch ${label(s)}: ${rate.toFixed(0)} texts/s`);
    const best = sweep.reduce((x, y) => (y.rate > x.rate ? y : x)).s;
    const rounds = { deepclust: [] as number[], best: [] as number[], ootb: [] as number[], command: [] as number[] };
    for (let r = 0; r < Number(a.rounds); r++) {
      rounds.deepclust.push(await deepclust(folder));
      rounds.best.push(peer(folder, txt, best));
      rounds.ootb.push(peer(folder, txt, OOTB));
      const t1 = performance.now();
      await runCliJson(cli, ["embed", csv, "--model", folder, "--out", join(dir, `out-${r}.csv`), "--json"]);
      rounds.command.push(texts.length / ((performance.now() - t1) / 1000));
      console.log(
        `  round ${r + 1}: deepclust ${rounds.deepclust.at(-1)!.toFixed(0)}, PyTorch best ${rounds.best.at(-1)!.toFixed(0)}, out of the box ${rounds.ootb.at(-1)!.toFixed(0)}, deepclust embed command ${rounds.command.at(-1)!.toFixed(0)} texts/s`,
      );
    }
    const record = {
      bench: "embed-throughput",
      model: name,
      texts: texts.length,
      batchSize: 32,
      maxAbsDiff: maxDiff,
      peerBest: label(best),
      sweep: sweep.map(({ s, rate }) => ({ setting: label(s), textsPerSecond: rate })),
      rounds,
      medians: {
        deepclust: median(rounds.deepclust),
        pytorchBest: median(rounds.best),
        pytorchOutOfTheBox: median(rounds.ootb),
        command: median(rounds.command),
      },
      // PyTorch at its best: the better median of the sweep's best setting and out of the box.
      ratio: median(rounds.deepclust) / Math.max(median(rounds.best), median(rounds.ootb)),
      command: "npm run build && node --import tsx bench/embed-throughput.ts",
      ...machine(),
    };
    appendFileSync(results, JSON.stringify(record) + "\n");
    console.log(
      `${name}: medians deepclust ${record.medians.deepclust.toFixed(0)}, PyTorch at its best (${record.peerBest}) ${record.medians.pytorchBest.toFixed(0)}, out of the box ${record.medians.pytorchOutOfTheBox.toFixed(0)} texts/s: ${record.ratio.toFixed(2)}×; the whole command ${record.medians.command.toFixed(0)} texts/s`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
