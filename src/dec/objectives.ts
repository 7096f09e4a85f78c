// The clustering phase's objectives, by method name. Each says what it trains (the decoder or not),
// which loss terms it reports beside the total, and builds its loss and backward rule from the
// encoder's and the assignment's forward passes. compileClusteringStep, the CLI's --method choices,
// config.json's check and the loss bookkeeping all read this table: a new method is one entry here
// (plus its test).

import type { Value } from "../engine/index.js";
import { klDivergence, mse, type BuildContext, type Forward, type Layer, type Objective } from "../nn/index.js";

/** What an objective is built from: the batch, its target P, and the forward passes so far. */
export interface ObjectiveInputs {
  ctx: BuildContext;
  /** The batch of inputs. */
  x: Value;
  /** The target distribution P of the batch (rows × k). */
  p: Value;
  /** The encoder's forward pass of x. */
  encoded: Forward;
  /** The Student-t assignment's forward pass of the code: q. */
  assigned: Forward;
  /** The decoder (only for objectives with `usesDecoder`). */
  decoder: Layer | null;
  /** IDEC's weight of the clustering loss, γ. */
  gamma: number;
}

/** The fields of an update record that an objective's per-step loss terms are averaged into. */
export type LossTermField = "lossRec" | "lossKl";

export interface ClusteringObjective {
  /** For the CLI's help: what the method minimises. */
  readonly summary: string;
  /** Whether the decoder trains with the encoder (and so stays part of the model). */
  readonly usesDecoder: boolean;
  /** Per-step metrics of the step graph (beside the total loss) → the update record's fields. */
  readonly terms: Readonly<Record<string, LossTermField>>;
  build(inputs: ObjectiveInputs): Objective;
}

export const OBJECTIVES = {
  /** Xie et al. 2016: KL(P‖Q) over the encoder and the centres. */
  dec: {
    summary: "KL only",
    usesDecoder: false,
    terms: {},
    build: ({ ctx, p, encoded, assigned }) => {
      const kl = klDivergence(ctx.g, p, assigned.y);
      return { loss: kl.loss, backward: () => void encoded.backward(assigned.backward(kl.grad(), true)!, false) };
    },
  },
  /** Guo et al. 2017: L_rec + γ·KL(P‖Q), the decoder kept and trained, so the code keeps the data's structure. */
  idec: {
    summary: "KL plus reconstruction, keeps the decoder",
    usesDecoder: true,
    terms: { loss_rec: "lossRec", loss_kl: "lossKl" },
    build: ({ ctx, x, p, encoded, assigned, decoder, gamma }) => {
      const { g } = ctx;
      const kl = klDivergence(g, p, assigned.y);
      const d = decoder!.forward(ctx, encoded.y);
      const rec = mse(g, d.y, x);
      const total = g.add(rec.loss, g.mul(kl.loss, g.scalar(gamma)), "idec_loss");
      return {
        loss: total,
        metrics: { loss_rec: rec.loss, loss_kl: kl.loss },
        backward: () => {
          const dz = g.add(d.backward(rec.grad(), true)!, assigned.backward(kl.grad(g.scalar(gamma)), true)!);
          encoded.backward(dz, false);
        },
      };
    },
  },
} satisfies Record<string, ClusteringObjective>;

export type ClusteringMethod = keyof typeof OBJECTIVES;

/** The method names, in the registry's order. */
export const CLUSTERING_METHODS = Object.keys(OBJECTIVES) as ClusteringMethod[];

export function isClusteringMethod(v: unknown): v is ClusteringMethod {
  return typeof v === "string" && Object.hasOwn(OBJECTIVES, v);
}

export function objectiveOf(method: ClusteringMethod): ClusteringObjective {
  return OBJECTIVES[method];
}
