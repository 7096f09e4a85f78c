// deepclust/serve: a model directory behind an HTTP JSON API, with micro-batched inference.
export { createServer, toMatrix, RequestError, type DeepclustServer, type ServeOptions, type PredictResponse } from "./server.js";
export { MicroBatcher, type BatchRunner, type MicroBatcherOptions, type MicroBatcherStats } from "./micro-batcher.js";
export { ROUTES, SERVE_DEFAULTS } from "./defaults.js";
