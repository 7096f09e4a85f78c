// The server's defaults and routes, apart from server.ts so that the command line can show them
// without loading fastify.

export const SERVE_DEFAULTS = {
  /** Most rows per onnxruntime call. */
  maxBatch: 256,
  /** Longest wait for more rows before a batch runs, in milliseconds. */
  maxWaitMs: 2,
  /** Most rows in one request. */
  maxRows: 10_000,
  /** Largest request body in bytes. */
  bodyLimit: 64 * 1024 * 1024,
} as const;

export const ROUTES = ["POST /v1/predict", "GET /v1/model", "GET /healthz"] as const;
