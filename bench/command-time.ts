// Wall time of a default `deepclust train` command against its budget (issue 14: the Reuters
// example ≤ 30 s with its report): the built CLI, one process per seed, one after another, with the
// stage times the CLI prints; the median over the seeds. Needs `npm run build` first.
//
//   node --import tsx bench/command-time.ts [--data examples/reuters/train.csv] [--k 10] [--seeds 10,11,12] [--no-report]

import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { median } from "./torch-sweep.js";
import { cpuName } from "./cpu.js";

const { values: a } = parseArgs({
  options: {
    data: { type: "string", default: "examples/reuters/train.csv" },
    k: { type: "string", default: "10" },
    seeds: { type: "string", default: "10,11,12" },
    report: { type: "boolean", default: true },
    results: { type: "string", default: "bench/results/command-time.jsonl" },
  },
  allowNegative: true,
});
const tmp = mkdtempSync(join(tmpdir(), "deepclust-command-time-"));
const cpu = cpuName();
const runs: { seed: number; seconds: number; stages: string }[] = [];
try {
  for (const seed of a.seeds!.split(",").map(Number)) {
    const args = [
      "dist/cli/main.js",
      "train",
      a.data!,
      "-k",
      a.k!,
      "--seed",
      String(seed),
      "--out",
      join(tmp, `s${seed}`),
      ...(a.report ? [] : ["--no-report"]),
    ];
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: "utf8" });
    const seconds = (performance.now() - t) / 1000;
    if (r.status !== 0) throw new Error(`seed ${seed}: exit ${r.status}\n${r.stderr.slice(-2000)}`);
    const stages = /^time: (.*)$/m.exec(r.stdout)?.[1] ?? "";
    runs.push({ seed, seconds, stages });
    console.error(`seed ${seed}: ${seconds.toFixed(1)} s (${stages})`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const rec = {
  command: `deepclust train ${a.data} -k ${a.k}${a.report ? "" : " --no-report"}`,
  medianSeconds: median(runs.map((r) => r.seconds)),
  runs,
  cpu,
  commit: spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout.trim(),
  cores: cpus().length,
  date: new Date().toISOString(),
};
mkdirSync("bench/results", { recursive: true });
appendFileSync(a.results!, JSON.stringify(rec) + "\n");
console.log(
  `${rec.command}: median ${rec.medianSeconds.toFixed(1)} s over ${runs.length} seeds (${runs.map((r) => r.seconds.toFixed(1)).join(", ")}); ${cpu}`,
);
