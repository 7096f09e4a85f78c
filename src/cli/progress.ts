// Progress on a TTY (a bar with rate and ETA), silence on a pipe or with --json.

import cliProgress from "cli-progress";

export interface Progress {
  start(label: string, total: number, unit: string): void;
  update(value: number, info?: string): void;
  stop(): void;
  /** A line of human-readable output (stderr when stdout is reserved for JSON). */
  log(line: string): void;
}

export function createProgress(opts: { json: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = opts.stream ?? process.stderr;
  const interactive = !opts.json && stream.isTTY === true;
  const out = (line: string) => (opts.json ? undefined : process.stdout.write(line + "\n"));
  if (!interactive) return { start() {}, update() {}, stop() {}, log: out };
  let bar: cliProgress.SingleBar | undefined;
  return {
    start(label, total, unit) {
      bar?.stop();
      bar = new cliProgress.SingleBar(
        { format: `${label.padEnd(14)} [{bar}] {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted} | {info}`, stream, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { info: "", rate: "–" });
    },
    update(value, info = "") {
      bar?.update(value, { info });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
    log(line) {
      out(line);
    },
  };
}
