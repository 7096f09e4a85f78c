export { Autoencoder, type AutoencoderConfig } from "./autoencoder.js";
export { makeOptimizer, STEPS_PER_RUN, type OptimizerConfig } from "./optimizers.js";
export {
  pretrainAutoencoder,
  reconstructionError,
  trainEpochs,
  PRETRAIN_DEFAULTS,
  type PretrainOptions,
  type PretrainMode,
  type EpochRecord,
  type EpochOptions,
} from "./pretrain.js";
export {
  saveAutoencoder,
  loadAutoencoder,
  savePretrainDir,
  PRETRAIN_DIR,
  PRETRAIN_FILES,
  PRETRAIN_FORMAT,
} from "./autoencoder-file.js";
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
  type StopReason,
  type TrainingState,
} from "./dec-training.js";
export {
  OBJECTIVES,
  CLUSTERING_METHODS,
  isClusteringMethod,
  objectiveOf,
  type ClusteringObjective,
  type ObjectiveInputs,
  type LossTermField,
} from "./objectives.js";
export {
  saveCheckpoint,
  loadCheckpoint,
  checkResume,
  CHECKPOINT_DIR,
  RESUME_MAY_DIFFER,
  type Checkpoint,
  type CheckpointRecord,
} from "./checkpoint.js";
export { dataFingerprint, type DataFingerprint } from "./data-fingerprint.js";
export {
  INPUT_SCALINGS,
  AUTO_SPREAD,
  chooseScaling,
  featureStats,
  standardize,
  foldScaling,
  type InputScaling,
  type Standardizer,
} from "./input-scaling.js";
export {
  DEC,
  checkConfig,
  trainingConfig,
  startName,
  CENTER_INITS,
  MANIFOLD_START_DEFAULTS,
  MANIFOLD_MAX_ROWS,
  type CenterInit,
  type ManifoldOptions,
  type DECConfig,
  type FitOptions,
  type Timings,
} from "./dec-model.js";
export { trainingSummary, selectedIteration, type TrainingSummary } from "./training-summary.js";
export {
  presetRecipe,
  presetConfig,
  resolveRecipe,
  scaledHidden,
  scaledEpochs,
  DEFAULT_PRESET,
  PRESET_NAMES,
  PRESET_SUMMARIES,
  MANIFOLD_PRETRAIN,
  MANIFOLD_RECIPE_START,
  type PresetName,
  type Recipe,
  type RecipeOverrides,
  type DataShape,
} from "./presets.js";
export {
  saveModel,
  loadModel,
  writeModelDir,
  replaceModelOnnx,
  modelConfig,
  modelInputFiles,
  isModelFile,
  DECModel,
  MODEL_DIR,
  MODEL_FILES,
  MODEL_FORMAT,
  MODEL_REPORT_FILE,
  type ModelConfig,
  type SaveModelOptions,
  type LoadModelOptions,
} from "./model-dir.js";
export {
  exportOnnx,
  inferenceGraph,
  ONNX_INPUT,
  ONNX_OUTPUTS,
  PRECISIONS,
  type Precision,
  type InferenceGraphOptions,
} from "./model-onnx.js";
export {
  OUTLIER_CLUSTER,
  checkMinConfidence,
  checkOutlierRate,
  confidenceQuantiles,
  labelsWithOutliers,
  markOutliers,
  outlierDefault,
  outlierThreshold,
  rowConfidence,
  thresholdForRate,
  type ConfidenceRecord,
  type OutlierDefault,
  type OutlierOptions,
  type OutlierRecord,
} from "./outliers.js";
export { importTorchStateDict, type TorchImport, type TorchImportOptions } from "./torch-import.js";
