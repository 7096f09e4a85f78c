// Does a floor on pretraining steps help the small sets? The default recipe aimed at about 8,000
// steps but capped pretraining at 100 epochs, so a set of a few hundred rows (one to three batches)
// got only 100–300 Adam steps (the recipe now has a 1,000-step floor, chosen with this script). This runs the default command with --pretrain-epochs raised to
// reach each floor (none, 1,000, 2,000, 4,000 steps) on the sets the floor would change, tuning
// seeds only (0–3), and appends ACC / NMI of the start and of DEC with k-means on the raw data.
//
//   node --import tsx bench/diagnostics/pretrain-floor.ts [--floors 0,1000,2000,4000] [--seeds 0,1,2,3]

import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { scaledEpochs } from "../../src/dec/presets.js";
import { cpuName } from "../cpu.js";

const { values: a } = parseArgs({
  options: {
    floors: { type: "string", default: "0,1000,2000,4000" },
    seeds: { type: "string", default: "0,1,2,3" },
    results: { type: "string", default: "bench/results/pretrain-floor.jsonl" },
  },
});
const seeds = a.seeds!.split(",").map(Number);
if (seeds.some((s) => s >= 10)) throw new Error("reporting seeds (10+) are not for tuning");
const floors = a.floors!.split(",").map(Number);
const DATA = "bench/datasets/data";
const sets = [
  { name: "iris", file: `${DATA}/iris.csv`, rows: 150, k: 3 },
  { name: "wine", file: `${DATA}/wine.csv`, rows: 178, k: 3 },
  { name: "breast-cancer", file: `${DATA}/breast-cancer.csv`, rows: 569, k: 2 },
  { name: "digits", file: "test/fixtures/digits.csv", rows: 1797, k: 10 },
];
const batch = 256;
const out = join(tmpdir(), "deepclust-pretrain-floor");
mkdirSync("bench/results", { recursive: true });
const cpu = cpuName();

for (const s of sets) {
  const stepsPerEpoch = Math.ceil(s.rows / Math.min(batch, s.rows));
  for (const floor of floors) {
    const epochs = scaledEpochs(s.rows, batch, floor); // the recipe's epochs with this floor instead of its own
    for (const seed of seeds) {
      const t0 = performance.now();
      const r = spawnSync(
        process.execPath,
        [
          "dist/cli/main.js",
          "train",
          s.file,
          "-k",
          String(s.k),
          "--seed",
          String(seed),
          "--threads",
          "2",
          "--no-report",
          "--json",
          "--force",
          "--out",
          out,
          "--pretrain-epochs",
          String(epochs),
        ],
        { encoding: "utf8" },
      );
      if (r.status !== 0) throw new Error(`${s.name} floor ${floor} seed ${seed}: ${r.stderr.slice(-2000)}`);
      const j = JSON.parse(r.stdout);
      const rec = {
        dataset: s.name,
        floor,
        epochs,
        steps: epochs * stepsPerEpoch,
        seed,
        baseline: j.baseline,
        start: j.aeKmeans,
        dec: j.dec,
        seconds: (performance.now() - t0) / 1000,
        cpu,
        date: new Date().toISOString(),
      };
      appendFileSync(a.results!, JSON.stringify(rec) + "\n");
      console.error(
        `${s.name} floor ${floor} (${epochs} epochs) seed ${seed}: start ${rec.start?.acc?.toFixed(3)} DEC ${rec.dec?.acc?.toFixed(3)} (raw k-means ${rec.baseline?.acc?.toFixed(3)}) ${rec.seconds.toFixed(1)} s`,
      );
    }
  }
}
