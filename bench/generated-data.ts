// Helpers shared by the benchmarks that run the built CLI on generated files.

import { spawn, spawnSync } from "node:child_process";
import { closeSync, copyFileSync, cpSync, existsSync, openSync, symlinkSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { ParquetWriter, fileWriter } from "hyparquet-writer";
import { npyHeader, type Matrix } from "../src/index.js";

/** A rows × pool.cols float32 .npy that cycles through `pool`, written a block at a time: never whole in memory. */
export function writeRepeatedNpy(file: string, rows: number, pool: Matrix): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, npyHeader([rows, pool.cols]));
    for (let r = 0; r < rows; r += pool.rows)
      writeSync(
        fd,
        new Uint8Array(pool.data.buffer, pool.data.byteOffset, Math.min(pool.rows, rows - r) * pool.cols * 4),
      );
  } finally {
    closeSync(fd);
  }
}

/**
 * The same rows as writeRepeatedNpy (row r is pool row r mod pool.rows) as a Parquet file with one
 * column, `embeddings`: list<float> in pyarrow's layout (optional list, repeated `list`, optional
 * FLOAT `element`), PLAIN-encoded (no dictionary, although the pool repeats), Snappy-compressed,
 * v2 data pages. Written with hyparquet-writer's streaming ParquetWriter one row group of
 * `rowGroupRows` rows at a time, so the file is never whole in memory; one row group is, several
 * times over (the writer builds JS arrays of its values and levels): 65,536 × 768 fits in a 2 GB
 * heap (2.3 GB peak RSS; 3.8 GB under Node's default heap limit, which collects later).
 */
export async function writeRepeatedParquet(
  file: string,
  rows: number,
  pool: Matrix,
  rowGroupRows: number,
): Promise<void> {
  if (!(Number.isInteger(rowGroupRows) && rowGroupRows >= 1))
    throw new RangeError(`rowGroupRows must be an integer ≥ 1, got ${rowGroupRows}`);
  const c = pool.cols;
  // hyparquet-writer takes each list as a JS array (typed arrays are refused): the pool's rows once.
  const poolRows = Array.from({ length: pool.rows }, (_, i) => Array.from(pool.data.subarray(i * c, (i + 1) * c)));
  const writer = new ParquetWriter({
    writer: fileWriter(file),
    schema: [
      { name: "root", num_children: 1 },
      { name: "embeddings", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", type: "FLOAT", repetition_type: "OPTIONAL" },
    ],
    codec: "SNAPPY",
  });
  for (let r = 0; r < rows; r += rowGroupRows) {
    const n = Math.min(rowGroupRows, rows - r);
    const group = Array.from({ length: n }, (_, i) => poolRows[(r + i) % pool.rows]!);
    await writer.write({ columnData: [{ name: "embeddings", data: group, encoding: "PLAIN" }], rowGroupSize: n });
  }
  await writer.finish();
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

/**
 * A snapshot of the build in `tmp`: <tmp>/pkg/{dist, package.json, node_modules → the checkout's},
 * so a rebuild of dist/ while a benchmark runs cannot mix two versions. Returns the snapshot's
 * dist/ and CLI, and which commit the build and the checkout are at.
 */
export function snapshotBuild(distDir: string, tmp: string) {
  const distSource = resolve(distDir);
  if (!existsSync(join(distSource, "cli", "main.js")))
    throw new Error(`${distSource}/cli/main.js not found: run npm run build first (or give --dist)`);
  const pkg = join(tmp, "pkg");
  cpSync(distSource, join(pkg, "dist"), { recursive: true });
  copyFileSync(resolve(distSource, "..", "package.json"), join(pkg, "package.json"));
  symlinkSync(resolve("node_modules"), join(pkg, "node_modules"), "dir");
  const git = (cwd: string, ...args: string[]) => {
    const r = spawnSync("git", args, { cwd, encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const srcTree = dirname(distSource);
  const build = {
    dist: distSource,
    commit: git(srcTree, "rev-parse", "HEAD"),
    uncommitted_src_changes: Boolean(git(srcTree, "status", "--porcelain", "--", "src")),
    checkout_commit: git(".", "rev-parse", "HEAD"),
  };
  const dist = join(pkg, "dist");
  return { dist, cli: join(dist, "cli", "main.js"), build };
}
