// What the command line costs around its work: process start to exit for `deepclust --version` and
// `deepclust kmeans --help`, and for a `deepclust kmeans` run, the whole command against the
// k-means seconds it reports (the rest is start-up, reading the .npy and writing the predictions).
// Several builds side by side (--cli a,b: e.g. this one and a worktree of an older commit), rounds
// alternating their order; medians.
//
//   npm run build && node --import tsx bench/diagnostics/cli-startup.ts [--cli dist/cli/main.js,/tmp/old/dist/cli/main.js] [--rounds 5]

import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { readDataset, writeNpy } from "../../src/index.js";
import { median } from "../torch-sweep.js";
import { cpuName } from "../cpu.js";

const { values: a } = parseArgs({
  options: {
    cli: { type: "string", default: "dist/cli/main.js" },
    rounds: { type: "string", default: "5" },
    data: { type: "string", default: "bench/datasets/data/gmm-large-k.csv" },
    results: { type: "string", default: "bench/results/cli-startup.jsonl" },
  },
});
const clis = a.cli!.split(",");
const rounds = Number(a.rounds);
const tmp = mkdtempSync(join(tmpdir(), "deepclust-cli-startup-"));
const npy = join(tmp, "x.npy");
writeNpy(npy, (await readDataset(a.data!)).X);

/** Seconds from spawn to exit, and the command's stdout. */
function timed(cli: string, args: string[]): { seconds: number; stdout: string } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cli} ${args.join(" ")} failed: ${r.stderr}`);
  return { seconds, stdout: r.stdout };
}

type Sample = { version: number; help: number; kmeansWhole: number; kmeansReported: number };
const samples = new Map<string, Sample[]>(clis.map((c) => [c, []]));
try {
  for (let round = 0; round < rounds; round++) {
    for (const cli of round % 2 === 0 ? clis : [...clis].reverse()) {
      const out = join(tmp, "p.csv");
      const km = timed(cli, [
        "kmeans",
        npy,
        "-k",
        "26",
        "--n-init",
        "20",
        "--seed",
        String(round),
        "--out",
        out,
        "--json",
        "--force",
      ]);
      samples.get(cli)!.push({
        version: timed(cli, ["--version"]).seconds,
        help: timed(cli, ["kmeans", "--help"]).seconds,
        kmeansWhole: km.seconds,
        kmeansReported: (JSON.parse(km.stdout) as { seconds: number }).seconds,
      });
    }
  }
  const cpu = cpuName();
  for (const cli of clis) {
    const s = samples.get(cli)!;
    const m = (f: (x: Sample) => number) => median(s.map(f));
    const rec = {
      cli,
      rounds,
      cpu,
      date: new Date().toISOString(),
      versionSeconds: m((x) => x.version),
      kmeansHelpSeconds: m((x) => x.help),
      kmeansWholeSeconds: m((x) => x.kmeansWhole),
      kmeansReportedSeconds: m((x) => x.kmeansReported),
      kmeansAroundSeconds: m((x) => x.kmeansWhole - x.kmeansReported),
      raw: s,
    };
    appendFileSync(a.results!, JSON.stringify(rec) + "\n");
    console.log(
      `${cli} (${cpu}, medians of ${rounds}): --version ${rec.versionSeconds.toFixed(3)} s, kmeans --help ${rec.kmeansHelpSeconds.toFixed(3)} s; ` +
        `kmeans on 20,000 × 16 whole ${rec.kmeansWholeSeconds.toFixed(3)} s, of which k-means ${rec.kmeansReportedSeconds.toFixed(3)} s and around it ${rec.kmeansAroundSeconds.toFixed(3)} s`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
