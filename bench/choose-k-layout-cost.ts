// What the layout's criterion costs choose-k: the whole command (`deepclust choose-k <data> --json`,
// default candidates and sample) with it and with `--no-k-layout`, alternating, one process per run,
// `--rounds` rounds; the medians of the command's wall time and of the selection's own seconds (the
// pretraining excluded), and the ratio. Needs `npm run build` first.
//
//   node --import tsx bench/choose-k-layout-cost.ts [--data test/fixtures/digits.csv,examples/reuters/train.csv] [--rounds 3]

import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { median } from "./torch-sweep.js";
import { cpuName } from "./cpu.js";

const { values: a } = parseArgs({
  options: {
    data: { type: "string", default: "test/fixtures/digits.csv,examples/reuters/train.csv" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string", default: "2" },
    results: { type: "string", default: "bench/results/choose-k-layout-cost.jsonl" },
  },
});

interface Run {
  wall: number;
  selection: number;
  recommended: number;
}

function once(data: string, layout: boolean): Run {
  const args = ["dist/cli/main.js", "choose-k", data, "--json", "--threads", a.threads!];
  if (!layout) args.push("--no-k-layout");
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${data}: exit ${r.status}\n${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout) as { seconds: number; recommended: number };
  return { wall, selection: out.seconds, recommended: out.recommended };
}

const cpu = cpuName();
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
mkdirSync("bench/results", { recursive: true });
for (const data of a.data!.split(",")) {
  const runs: Record<"with" | "without", Run[]> = { with: [], without: [] };
  for (let round = 0; round < Number(a.rounds); round++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    const order: ("with" | "without")[] = round % 2 === 0 ? ["with", "without"] : ["without", "with"];
    for (const side of order) {
      const r = once(data, side === "with");
      runs[side].push(r);
      console.error(
        `${data} round ${round + 1} ${side} the layout: ${r.wall.toFixed(1)} s (selection ${r.selection.toFixed(1)} s), k = ${r.recommended}`,
      );
    }
  }
  const m = (side: "with" | "without", key: "wall" | "selection") => median(runs[side].map((r) => r[key]));
  const rec = {
    data,
    rounds: Number(a.rounds),
    withLayout: { wall: m("with", "wall"), selection: m("with", "selection"), runs: runs.with },
    withoutLayout: { wall: m("without", "wall"), selection: m("without", "selection"), runs: runs.without },
    cpu,
    commit,
    cores: cpus().length,
    threads: Number(a.threads),
    date: new Date().toISOString(),
  };
  appendFileSync(a.results!, JSON.stringify(rec) + "\n");
  console.log(
    `${data}: wall ${rec.withLayout.wall.toFixed(1)} s with the layout, ${rec.withoutLayout.wall.toFixed(1)} s without (×${(rec.withLayout.wall / rec.withoutLayout.wall).toFixed(2)}); selection ${rec.withLayout.selection.toFixed(1)} s against ${rec.withoutLayout.selection.toFixed(1)} s; ${cpu}`,
  );
}
