// Weight initialisers. The default matches PyTorch's nn.Linear (kaiming_uniform with a=√5, which
// is U(±1/√fan_in) for the weight, and U(±1/√fan_in) for the bias); the DEC paper's N(0, 0.01²)
// and Glorot (Keras' default) are options.

import type { Rng } from "../engine/index.js";

export type InitName = "torch" | "paper" | "glorot";
export const INIT_NAMES: readonly InitName[] = ["torch", "paper", "glorot"];

/** Fills a parameter of `shape`; for a Linear layer, fanIn/fanOut are the in/out features. */
export type Initializer = (rng: Rng, size: number, fanIn: number, fanOut: number) => Float32Array;

function uniform(rng: Rng, size: number, bound: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = (2 * rng.uniform() - 1) * bound;
  return a;
}

export const initializers = {
  /** PyTorch default: U(−1/√fan_in, 1/√fan_in) (weights and biases alike). */
  torch: (rng, size, fanIn) => uniform(rng, size, 1 / Math.sqrt(fanIn)),
  /** DEC paper: N(0, 0.01²). */
  paper: (rng, size) => {
    const a = new Float32Array(size);
    for (let i = 0; i < size; i++) a[i] = 0.01 * rng.normal();
    return a;
  },
  /** Glorot/Xavier uniform: U(±√(6/(fan_in+fan_out))). */
  glorot: (rng, size, fanIn, fanOut) => uniform(rng, size, Math.sqrt(6 / (fanIn + fanOut))),
} satisfies Record<InitName, Initializer>;

const zeros: Initializer = (_rng, size) => new Float32Array(size);

/** Bias initialiser that goes with a weight initialiser (PyTorch's for "torch", zeros otherwise, as in the paper and Keras). */
export function biasInit(weight: InitName): Initializer {
  return weight === "torch" ? initializers.torch : zeros;
}
