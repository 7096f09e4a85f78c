// Choosing k on data: the autoencoder is pretrained once (exactly as training with any k would
// pretrain it), its code is computed, and every candidate k is clustered and scored on the code
// (cluster/choose-k.ts). The pretrained autoencoder is returned, so that training with the chosen
// k goes on from it (`train -k auto`) instead of pretraining again.

import { DEFAULTS } from "../config.js";
import type { Rows } from "../engine/index.js";
import { checkCandidates, chooseK, type ChooseKOptions, type ChooseKResult } from "../cluster/choose-k.js";
import { DEC, type DECConfig, type FitOptions, type Pretrained } from "../dec/dec-model.js";
import type { PartialLabels } from "../cluster/metrics.js";

export interface ChooseKOnDataOptions extends Omit<ChooseKOptions, "seed" | "threads"> {
  onPretrainEpoch?: FitOptions["onPretrainEpoch"];
  /** Called once pretraining is done, before the candidates. */
  onPretrained?: (p: Pretrained) => void;
}

export interface ChosenK {
  selection: ChooseKResult;
  pretrained: Pretrained;
}

/**
 * Pretrains `config`'s autoencoder on X (config.k plays no part: any value does) and runs chooseK on
 * its code with config's seed and threads. The seed of the selection is derived from config.seed,
 * so one --seed fixes pretraining, selection and training.
 */
export async function chooseKOnData(
  config: Omit<DECConfig, "k">,
  X: Rows,
  options: ChooseKOnDataOptions,
): Promise<ChosenK> {
  // Checked before pretraining, on the rows the criteria will see.
  const sampleSize = options.sampleSize === undefined ? DEFAULTS.chooseK.sampleSize : options.sampleSize;
  checkCandidates(options.ks, sampleSize === null ? X.rows : Math.min(X.rows, sampleSize));
  const dec = new DEC({ ...config, k: options.ks[0] ?? 2 });
  const pretrained = await dec.pretrain(X, options.onPretrainEpoch ? { onPretrainEpoch: options.onPretrainEpoch } : {});
  options.onPretrained?.(pretrained);
  const code = await pretrained.autoencoder.encode(pretrained.input);
  const { onPretrainEpoch: _e, onPretrained: _p, ...selection } = options;
  return {
    selection: await chooseK(code, {
      ...selection,
      seed: config.seed ?? DEFAULTS.seed,
      threads: config.threads ?? DEFAULTS.threads,
    }),
    pretrained,
  };
}

/** A candidate k trained by DEC from the shared pretraining, and how its clusters score. */
export interface RefinedCandidate {
  k: number;
  /** The internal scores of the trained model's clusters in its code (DEC#internalScores). */
  silhouette: number | null;
  calinskiHarabasz: number | null;
  daviesBouldin: number | null;
  /** ACC against `labels`, when given. */
  acc: number | null;
}

/**
 * choose-k --refine dec: DEC (config's whole recipe: the start, the clustering phase) trained with
 * each of `ks` from the same pretraining, and its clusters' internal scores. One clustering phase
 * per candidate.
 */
export async function refineCandidates(
  config: Omit<DECConfig, "k">,
  X: Rows,
  pretrained: Pretrained,
  ks: readonly number[],
  options: { labels?: PartialLabels | null; onCandidate?: (k: number, done: number) => void } = {},
): Promise<RefinedCandidate[]> {
  const out: RefinedCandidate[] = [];
  for (const [i, k] of ks.entries()) {
    const dec = new DEC({ ...config, k });
    try {
      await dec.fit(X, options.labels ?? undefined, { pretrained });
      const s = dec.internalScores;
      out.push({
        k,
        silhouette: s?.silhouette ?? null,
        calinskiHarabasz: s?.calinskiHarabasz ?? null,
        daviesBouldin: s?.daviesBouldin ?? null,
        acc: dec.metrics?.acc ?? null,
      });
    } finally {
      await dec.release();
    }
    options.onCandidate?.(k, i + 1);
  }
  return out;
}
