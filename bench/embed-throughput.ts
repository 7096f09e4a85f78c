// Throughput of sentence embeddings: the library's SentenceEncoder.embed (tokenise, batch by
// length, onnxruntime, pool) and the whole `deepclust embed` command (process start to file
// written), on the bundled Reuters example's texts, 3 rounds each, medians. Models: the committed
// tiny BERT (test/fixtures/tiny-bert: 2 layers, 32 wide, 16 tokens at most) and, when
// DEEPCLUST_EMBED_MODEL names a real model folder, that one.
//
//   npm run build && node --import tsx bench/embed-throughput.ts [--texts 6018] [--rounds 3]
//
// PyTorch's mean-pooled BERT on the same sentences (issue 17) needs a real model's weights on both
// sides; with only the tiny fixture here, the comparison is not run (BENCHMARKS.md says so).

import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse } from "csv-parse/sync";
import { SentenceEncoder } from "../src/index.js";
import { runCliJson } from "./generated-data.js";
import { machine } from "./torch-sweep.js";

const { values: a } = parseArgs({
  options: { texts: { type: "string", default: "6018" }, rounds: { type: "string", default: "3" } },
});
const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const results = new URL("./results/embed-throughput.jsonl", import.meta.url).pathname;
const rows = (
  parse(readFileSync(new URL("../examples/reuters/train.csv", import.meta.url)), { columns: true }) as Array<{
    id: string;
    text: string;
  }>
).slice(0, Number(a.texts));
const texts = rows.map((r) => r.text);
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

const models: Array<[string, string]> = [
  ["tiny-bert (fixture)", new URL("../test/fixtures/tiny-bert", import.meta.url).pathname],
];
if (process.env.DEEPCLUST_EMBED_MODEL) models.push(["DEEPCLUST_EMBED_MODEL", process.env.DEEPCLUST_EMBED_MODEL]);
else console.log("no real model: set DEEPCLUST_EMBED_MODEL to a model folder to measure one");

const dir = mkdtempSync(join(tmpdir(), "deepclust-embed-bench-"));
try {
  const csv = join(dir, "texts.csv");
  writeFileSync(csv, "id,text\n" + rows.map((r) => `${r.id},"${r.text.replace(/"/g, '""')}"`).join("\n") + "\n");
  for (const [name, folder] of models) {
    const library: number[] = [];
    const command: number[] = [];
    for (let r = 0; r < Number(a.rounds); r++) {
      const enc = await SentenceEncoder.load(folder, { threads: 0 });
      const t0 = performance.now();
      await enc.embed(texts);
      library.push(texts.length / ((performance.now() - t0) / 1000));
      await enc.release();
      const t1 = performance.now();
      await runCliJson(cli, ["embed", csv, "--model", folder, "--out", join(dir, `out-${r}.csv`), "--json"]);
      command.push(texts.length / ((performance.now() - t1) / 1000));
      console.log(
        `${name} round ${r + 1}: library ${library.at(-1)!.toFixed(0)} texts/s, command ${command.at(-1)!.toFixed(0)} texts/s`,
      );
    }
    const record = {
      bench: "embed-throughput",
      model: name,
      texts: texts.length,
      libraryTextsPerSecond: library,
      commandTextsPerSecond: command,
      medianLibrary: median(library),
      medianCommand: median(command),
      command: "node --import tsx bench/embed-throughput.ts",
      ...machine(),
    };
    appendFileSync(results, JSON.stringify(record) + "\n");
    console.log(
      `${name}: median ${record.medianLibrary.toFixed(0)} texts/s (library), ${record.medianCommand.toFixed(0)} texts/s (command)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
