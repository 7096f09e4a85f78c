// Helpers shared by the benchmarks that run the built CLI on generated files.

import { spawn } from "node:child_process";
import { closeSync, openSync, writeSync } from "node:fs";
import { npyHeader, type Matrix } from "../src/index.js";

/** A rows × pool.cols float32 .npy that cycles through `pool`, written a block at a time: never whole in memory. */
export function writeRepeatedNpy(file: string, rows: number, pool: Matrix): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, npyHeader([rows, pool.cols]));
    for (let r = 0; r < rows; r += pool.rows) writeSync(fd, new Uint8Array(pool.data.buffer, pool.data.byteOffset, Math.min(pool.rows, rows - r) * pool.cols * 4));
  } finally {
    closeSync(fd);
  }
}

/** Runs the built CLI (`cli`: dist/cli/main.js) with `args` ending in --json and parses its one JSON line. */
export function runCliJson<T>(cli: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`deepclust ${args.join(" ")} exited ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}
