// File-level jobs built from the estimator and the readers: what the command line runs, as
// library functions.
export {
  predictFile,
  clusterLabelledFile,
  chunkRowsFor,
  chunkColumnNames,
  chunkColumns,
  noLabelsError,
  type SoftClusterer,
  type StreamOptions,
  type PredictFileOptions,
  type PredictFileSummary,
  type FileClusters,
} from "./predict-file.js";
export {
  scoreFile,
  SCORE_SPACES,
  type ScoreSpace,
  type ScoreFileOptions,
  type FileScores,
  type InternalScoresBySpace,
  type EncodingClusterer,
} from "./score-file.js";
export {
  openTrainingSource,
  shuffleBlockFor,
  type OutOfCoreSource,
  type TrainingSourceOptions,
} from "./training-source.js";
export { topicsOfFile, datasetTopics, type FileTopics, type FileTopicsOptions } from "./topics-file.js";
export { embedFile, type EmbedFileOptions, type EmbedFileSummary } from "./embed-file.js";
export {
  embeddedChunks,
  readTextDataset,
  openRecordedEncoder,
  type EmbeddingRecord,
  type TextSourceOptions,
} from "./text-source.js";
export {
  chooseKOnData,
  refineCandidates,
  type ChooseKOnDataOptions,
  type ChosenK,
  type RefinedCandidate,
} from "./choose-k.js";
export { seedStability, type SeedStability } from "./seed-stability.js";
