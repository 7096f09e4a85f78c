export { BuildContext, paramInputs, type Param, type Layer, type Forward, type Backward } from "./module.js";
export { initializers, biasInit, INIT_NAMES, type InitName, type Initializer } from "./init.js";
export { Dense } from "./dense.js";
export { ReLU, L2Normalize } from "./activations.js";
export { Sequential } from "./sequential.js";
export { mse, klDivergence, type LossResult } from "./losses.js";
export { StudentTAssignment, targetDistribution, CENTERS } from "./clustering.js";
export { type Optimizer, type BaseOptions } from "./optim/optimizer.js";
export { Adam, type AdamOptions } from "./optim/adam.js";
export { SGD, type SgdOptions } from "./optim/sgd.js";
export { globalNorm, clipByGlobalNorm } from "./optim/clip.js";
export { TrainingStep, type TrainingStepSpec, type Objective, type StepResult } from "./training-step.js";
export { corrupt, NOISE_KINDS, type NoiseKind, type NoiseSpec } from "./noise.js";
export { buildGradientGraph, computeGradients, type GradientSpec, type Gradients } from "./gradients.js";
export {
  quantizeWeight,
  quantizedConstants,
  INT8_WEIGHT_MAX,
  type QuantizedWeight,
  type QuantizedWeightValues,
} from "./quantize.js";
