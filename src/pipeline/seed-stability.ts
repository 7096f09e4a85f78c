// train --stability N: the same configuration trained with N − 1 further seeds, and how much their
// training labelings agree with each other and with the model kept (cluster/labeling-stability.ts).

import { DEFAULTS } from "../config.js";
import type { Rows } from "../engine/index.js";
import { labelingStability, type LabelingStability } from "../cluster/labeling-stability.js";
import { DEC, type DECConfig } from "../dec/dec-model.js";

export interface SeedStability extends LabelingStability {
  /** The seeds, the kept model's first. */
  seeds: number[];
  seconds: number;
}

/**
 * Trains `config` with each of `seeds` (pretraining included) on X and compares their labelings of
 * X with `kept` (the labels of the model trained with config.seed).
 */
export async function seedStability(
  config: DECConfig,
  X: Rows,
  kept: Int32Array,
  seeds: readonly number[],
  onSeed?: (seed: number, done: number) => void,
): Promise<SeedStability> {
  const t0 = performance.now();
  const labelings = [kept];
  for (const [i, seed] of seeds.entries()) {
    const dec = new DEC({ ...config, seed });
    try {
      await dec.fit(X);
      labelings.push(dec.labels!);
    } finally {
      await dec.release();
    }
    onSeed?.(seed, i + 1);
  }
  return {
    seeds: [config.seed ?? DEFAULTS.seed, ...seeds],
    ...labelingStability(labelings, config.k),
    seconds: (performance.now() - t0) / 1000,
  };
}
