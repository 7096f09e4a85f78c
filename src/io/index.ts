export { InputError } from "./errors.js";
export { readNpy, writeNpy, readNpyHeader, type NpyHeader } from "./npy.js";
export { readIdxImages, readIdxLabels, IdxError } from "./idx.js";
export { readSafetensors, writeSafetensors, encodeSafetensors, type NamedTensor } from "./safetensors.js";
export { readMatrix, validateFinite, type ReadMatrixOptions } from "./matrix-file.js";
export { readDataset, readDatasetChunks, DEFAULT_CHUNK_ROWS, type Dataset, type DatasetChunk, type DatasetFormat, type ReadDatasetOptions, type ReadChunksOptions } from "./dataset.js";
export { readLabelsFile, loadLabelsFile } from "./npy-labels.js";
export { writePredictions, createPredictionWriter, formatFloat32, type Predictions, type PredictionHeader, type PredictionWriter } from "./predictions.js";
export { writeDirAtomically } from "./atomic-dir.js";
