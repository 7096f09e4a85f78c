export { Autoencoder, type AutoencoderConfig } from "./autoencoder.js";
export { pretrainAutoencoder, reconstructionError, trainEpochs, makeOptimizer, PRETRAIN_DEFAULTS, type PretrainOptions, type PretrainMode, type EpochRecord, type OptimizerConfig } from "./pretrain.js";
export { saveAutoencoder, loadAutoencoder } from "./autoencoder-file.js";
