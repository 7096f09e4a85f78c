// What the exact kNN's query-block size costs: exactKnn with the current blocks (blockRows: 128–512
// rows, about 4 MiB of scores) against the earlier 64 MiB blocks, on the shapes of the manifold
// start and the report's map, in one process, 3 alternating rounds (each call a fresh session, as
// in the pipeline); medians, and whether both give the same neighbours and distances bit for bit.
//
//   node --import tsx bench/diagnostics/knn-blocks.ts [--rounds 3]

import { appendFileSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { Rng } from "../../src/engine/index.js";
import { blockRows, exactKnn } from "../../src/cluster/knn.js";
import { median } from "../torch-sweep.js";
import { cpuName } from "../cpu.js";

const { values: a } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    results: { type: "string", default: "bench/results/knn-blocks.jsonl" },
  },
});
const rounds = Number(a.rounds);
const oldBlock = (n: number) => Math.max(1, Math.min(n, Math.floor((16 * 2 ** 20) / n)));
const cpu = cpuName();
mkdirSync("bench/results", { recursive: true });

// Reuters' code (6,018 × 10), the report's map sample (5,000 × 10), the 20,000 × 16 mixture's shape.
for (const [n, d] of [
  [6018, 10],
  [5000, 10],
  [20000, 16],
] as const) {
  const rng = new Rng(5);
  const data = new Float32Array(n * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  const X = { data, rows: n, cols: d };
  const variants = { current: blockRows(n), old: oldBlock(n) };
  const ms: Record<string, number[]> = { current: [], old: [] };
  const hashes: Record<string, string> = {};
  for (let r = 0; r < rounds; r++)
    for (const v of (r % 2 ? ["old", "current"] : ["current", "old"]) as (keyof typeof variants)[]) {
      const t = performance.now();
      const knn = await exactKnn(X, 20, 0, variants[v]);
      ms[v]!.push(performance.now() - t);
      hashes[v] = createHash("sha256")
        .update(new Uint8Array(knn.indices.buffer))
        .update(new Uint8Array(knn.distances.buffer))
        .digest("hex")
        .slice(0, 16);
    }
  const rec = {
    rows: n,
    cols: d,
    k: 20,
    blocks: variants,
    msMedian: { current: median(ms.current!), old: median(ms.old!) },
    ms,
    sameResult: hashes.current === hashes.old,
    rounds,
    cpu,
    date: new Date().toISOString(),
  };
  appendFileSync(a.results!, JSON.stringify(rec) + "\n");
  console.log(
    `${n} × ${d}: blocks of ${variants.current} rows ${rec.msMedian.current.toFixed(0)} ms, of ${variants.old} rows ${rec.msMedian.old.toFixed(0)} ms (medians of ${rounds}); same neighbours: ${rec.sameResult}`,
  );
}
