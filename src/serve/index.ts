// deepclust/serve: a model directory behind an HTTP JSON API, with micro-batched inference.
export {
  createServer,
  RequestError,
  type DeepclustServer,
  type ServeOptions,
  type ShutdownReport,
  type PredictResponse,
} from "./server.js";
export { toMatrix, PredictBodyReader, type PredictBody } from "./predict-body.js";
export { MicroBatcher, type BatchRunner, type MicroBatcherOptions, type MicroBatcherStats } from "./micro-batcher.js";
export { BODY_LIMIT_RULE, ROUTES, SERVE_DEFAULTS, defaultBodyLimit } from "./defaults.js";
