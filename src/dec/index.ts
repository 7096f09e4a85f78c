export { Autoencoder, type AutoencoderConfig } from "./autoencoder.js";
export { pretrainAutoencoder, reconstructionError, trainEpochs, makeOptimizer, PRETRAIN_DEFAULTS, STEPS_PER_RUN, type PretrainOptions, type PretrainMode, type EpochRecord, type OptimizerConfig, type EpochOptions } from "./pretrain.js";
export { saveAutoencoder, loadAutoencoder } from "./autoencoder-file.js";
export {
  trainClustering,
  compileClusteringStep,
  defaultUpdateInterval,
  hardLabels,
  SoftAssigner,
  targetFromFrequencies,
  CLUSTERING_DEFAULTS,
  type ClusteringOptions,
  type ClusteringMethod,
  type TargetMode,
  type UpdateRecord,
  type ClusteringResult,
  type TrainingState,
} from "./dec-training.js";
export { saveCheckpoint, loadCheckpoint } from "./checkpoint.js";
export { DEC, type DECConfig, type FitOptions, type Timings } from "./dec-model.js";
export { saveModel, loadModel, writeModelDir, replaceModelOnnx, modelConfig, DECModel, MODEL_FILES, MODEL_FORMAT, type ModelConfig, type SaveModelOptions, type LoadModelOptions } from "./model-dir.js";
export { exportOnnx, inferenceGraph, ONNX_INPUT, ONNX_OUTPUTS, PRECISIONS, type Precision, type InferenceGraphOptions } from "./model-onnx.js";
