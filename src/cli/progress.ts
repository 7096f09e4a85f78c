// Progress on a TTY (a bar with rate and ETA), silence on a pipe or with --json.

import cliProgress from "cli-progress";

export interface Progress {
  /** A bar to `total`; with total null (a stream of unknown length) the count and the rate only. */
  start(label: string, total: number | null, unit: string): void;
  update(value: number, info?: string): void;
  stop(): void;
  /** A line of human-readable output (stderr when stdout is reserved for JSON). */
  log(line: string): void;
  /** A transient status line ("k-means…"): stderr on a TTY, nothing on a pipe or with --json. */
  status(line: string): void;
}

export function createProgress(opts: { json: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = opts.stream ?? process.stderr;
  const interactive = !opts.json && stream.isTTY === true;
  const out = (line: string) => (opts.json ? undefined : process.stdout.write(line + "\n"));
  if (!interactive) return { start() {}, update() {}, stop() {}, log: out, status() {} };
  let bar: cliProgress.SingleBar | undefined;
  let t0 = 0;
  let unitName = "";
  return {
    start(label, total, unit) {
      bar?.stop();
      const format =
        total === null
          ? `${label.padEnd(14)} {value} ${unit} | {rate} | {info}`
          : `${label.padEnd(14)} [{bar}] {value}/{total} ${unit} | {rate} | ETA {eta_formatted} | {info}`;
      bar = new cliProgress.SingleBar(
        { format, stream, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total ?? 0, 0, { info: "", rate: "–" });
      t0 = performance.now();
      unitName = unit;
    },
    update(value, info = "") {
      const secs = (performance.now() - t0) / 1000;
      const rate = secs > 0 && value > 0 ? `${formatRate(value / secs)} ${unitName}/s` : "–";
      bar?.update(value, { info, rate });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
    log(line) {
      out(line);
    },
    status(line) {
      bar?.stop();
      bar = undefined;
      stream.write(line + "\n");
    },
  };
}

function formatRate(r: number): string {
  return r >= 100 ? String(Math.round(r)) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
}
