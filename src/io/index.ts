export { InputError } from "./errors.js";
export { readNpy, writeNpy, npyHeader, readNpyHeader, type NpyHeader } from "./npy.js";
export { readIdxImages, readIdxLabels, IdxError } from "./idx.js";
export {
  readSafetensors,
  decodeSafetensors,
  writeSafetensors,
  encodeSafetensors,
  type NamedTensor,
  type SafetensorsContents,
} from "./safetensors.js";
export { readMatrix, validateFinite, nonFiniteInputError, type ReadMatrixOptions } from "./matrix-file.js";
export {
  readDataset,
  readDatasetChunks,
  DEFAULT_CHUNK_ROWS,
  type Dataset,
  type DatasetChunk,
  type RowLabels,
  type DatasetFormat,
  type ReadDatasetOptions,
  type ReadChunksOptions,
} from "./dataset.js";
export { readLabelsFile, loadLabelsFile } from "./npy-labels.js";
export { MISSING_LABELS, isMissingLabel, finalizeLabels } from "./dataset-builder.js";
export {
  writePredictions,
  createPredictionWriter,
  formatFloat32,
  type Predictions,
  type PredictionHeader,
  type PredictionWriter,
} from "./predictions.js";
export { writeDirAtomically } from "./atomic-dir.js";
export { writeFileAtomically } from "./atomic-file.js";
export {
  assertNotAnInput,
  assertReplaceable,
  assertSeparateOutputs,
  samePath,
  checkOutputDir,
  checkOutputFile,
  holdsOnly,
  readJsonObject,
  type OutputCheckOptions,
  type OutputTarget,
  type OwnedDirKind,
} from "./output-paths.js";
export { NpySource, type NpySourceOptions } from "./npy-source.js";
export { ParquetSource, type ParquetSourceOptions, type ParquetSourceStats } from "./parquet-source.js";
export { readColumns } from "./columns.js";
export { DEFAULT_TORCH_LIMITS, readTorchStateDict, type TorchLimits } from "./torch-pickle.js";
export { readTextChunks, TEXT_FORMATS, type TextChunk } from "./text-rows.js";
export {
  createEmbeddingWriter,
  EMBEDDING_OUTPUTS,
  EMBEDDINGS_COLUMN,
  type EmbeddingWriter,
} from "./embeddings-writer.js";
