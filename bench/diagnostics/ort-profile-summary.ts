// Sums onnxruntime's per-node profile (the JSON files DEEPCLUST_ORT_PROFILE=prefix writes, one per
// session) by operator type, for the session that ran longest: where a training step's time goes.
// Nodes inside a Scan body are listed besides the Scan itself, so the shares are of the Scan's time.
//
//   DEEPCLUST_ORT_PROFILE=/tmp/prof node --import tsx bench/dec-phase-worker.ts --data x.npy --method idec --iterations 140
//   node --import tsx bench/diagnostics/ort-profile-summary.ts /tmp/prof_*.json [--per 140]

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: a, positionals: files } = parseArgs({ allowPositionals: true, options: { per: { type: "string" } } });
const per = a.per === undefined ? 1 : Number(a.per);

interface Event {
  cat?: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

let longest: { file: string; runMs: number; byOp: Map<string, number>; scanMs: number } | null = null;
for (const file of files) {
  let events: Event[];
  try {
    events = JSON.parse(readFileSync(file, "utf8")) as Event[];
  } catch {
    continue; // a session still open when the process ended leaves its file unfinished
  }
  let runMs = 0;
  let scanMs = 0;
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat === "Session" && e.name === "model_run") runMs += e.dur / 1000;
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
    const op = e.args?.op_name ?? "?";
    if (op === "Scan") scanMs += e.dur / 1000;
    else byOp.set(op, (byOp.get(op) ?? 0) + e.dur / 1000);
  }
  if (!longest || runMs > longest.runMs) longest = { file, runMs, byOp, scanMs };
}
if (!longest) throw new Error("no readable profile among the files given");
const whole = longest.scanMs > 0 ? longest.scanMs : longest.runMs;
console.log(
  `${longest.file}: ${(whole / per).toFixed(2)} ms${per > 1 ? ` per step (÷ ${per})` : ""}${longest.scanMs > 0 ? " inside Scan" : ""}`,
);
const rows = [...longest.byOp].sort((x, y) => y[1] - x[1]);
for (const [op, ms] of rows.slice(0, 15))
  console.log(
    `  ${op.padEnd(16)} ${(ms / per).toFixed(2).padStart(8)} ms  ${((100 * ms) / whole).toFixed(1).padStart(5)} %`,
  );
