// Whether training data is loaded into memory or read from disk while training (out of core), and
// the on-disk source when it is: a .npy a block of rows at a time, a Parquet file a row group at a
// time. Larger than the memory budget (default: half the free memory), such a file trains out of
// core on its own; other formats always load whole.

import { statSync } from "node:fs";
import { freemem } from "node:os";
import { extname } from "node:path";
import { DEFAULTS } from "../config.js";
import { NpySource } from "../io/npy-source.js";
import { ParquetSource } from "../io/parquet-source.js";

/** The rows read from disk while training. */
export type OutOfCoreSource = NpySource | ParquetSource;

export interface TrainingSourceOptions {
  /** Read from disk whatever the file's size (.npy and Parquet only). */
  outOfCore?: boolean;
  /** A .npy or Parquet file larger than this many MiB trains out of core (default: half the free memory). */
  memoryBudgetMb?: number;
  /**
   * Blocks of consecutive rows the passes are shuffled in (default: DEFAULTS.outOfCoreBlockRows for
   * .npy, the row-group size for Parquet; 0: a true permutation, .npy only).
   */
  shuffleBlock?: number;
  /** Parquet: the column of the vectors (default: detected as the readers do). */
  embeddingsColumn?: string;
  /** The run resumes a checkpoint: not supported out of core. */
  resuming?: boolean;
}

/** The out-of-core source of `file` when it trains out of core, else null (it loads whole). */
export function openTrainingSource(file: string, o: TrainingSourceOptions = {}): OutOfCoreSource | null {
  const ext = extname(file).toLowerCase();
  const isNpy = ext === ".npy";
  const isParquet = ext === ".parquet" || ext === ".pq";
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    return null; // the reader reports the missing file
  }
  const budget = (o.memoryBudgetMb ?? Math.floor(freemem() / 2 / 2 ** 20)) * 2 ** 20;
  if (!o.outOfCore && size <= budget) return null;
  if (!isNpy && !isParquet) {
    if (o.outOfCore)
      throw new RangeError(
        `--out-of-core (outOfCore) reads .npy and Parquet files only; convert ${file} to a float32 .npy (rows × dims) or to Parquet`,
      );
    return null;
  }
  if (o.resuming)
    throw new RangeError("--resume is not supported out of core yet (train in memory, or without --resume)");
  if (isParquet) {
    if (o.shuffleBlock === 0)
      throw new RangeError(
        `--shuffle-block 0 (shuffleBlock 0, a true permutation) reads random rows: out of core that needs a .npy, since a Parquet file is decoded a whole row group at a time (leave --shuffle-block out to shuffle by row group, or convert ${file} to a float32 .npy)`,
      );
    return ParquetSource.open(file, {
      ...(o.embeddingsColumn !== undefined ? { embeddingsColumn: o.embeddingsColumn } : {}),
      ...(o.shuffleBlock !== undefined ? { blockRows: o.shuffleBlock } : {}),
    });
  }
  const block = o.shuffleBlock ?? DEFAULTS.outOfCoreBlockRows;
  return NpySource.open(file, block > 0 ? { cacheBlockRows: block } : {});
}

/** The shuffle block a run on `source` uses: the one given, else the source's natural block (undefined: a true permutation in memory). */
export function shuffleBlockFor(source: OutOfCoreSource | null, given?: number): number | undefined {
  if (!source) return given;
  return given ?? (source instanceof ParquetSource ? source.rowGroupBlock : DEFAULTS.outOfCoreBlockRows);
}
