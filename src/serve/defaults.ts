// The server's defaults and routes, apart from server.ts so that the command line can show them
// without loading fastify.

export const SERVE_DEFAULTS = {
  /** Most rows per onnxruntime call. */
  maxBatch: 256,
  /** Longest wait for more rows before a batch runs, in milliseconds. */
  maxWaitMs: 2,
  /** Most rows in one request. */
  maxRows: 10_000,
  /** Longest wait for a request's headers, in ms (Node's own 60 s lets a silent client hold a socket that long). */
  headersTimeoutMs: 10_000,
  /** Longest wait for a whole request, body included, in ms: a client that stalls mid-body is answered 408 and cut off. */
  requestTimeoutMs: 30_000,
  /**
   * How long an idle keep-alive connection stays open, in ms: longer than the 60 s idle time-out of
   * common load balancers, so that a balancer never sends a request on a connection the server is closing.
   */
  keepAliveTimeoutMs: 72_000,
  /** On SIGTERM, how long the requests in flight have to finish, in ms; then the connections still open are closed. */
  shutdownTimeoutMs: 10_000,
} as const;

/**
 * Bytes one number may take in a request's JSON: a float32 written as the shortest float64 that
 * reads back the same (at most 24 characters, e.g. -1.1754943508222875e-38), its separator, and
 * the indentation of pretty-printed JSON.
 */
export const JSON_BYTES_PER_NUMBER = 32;

/** Bytes of a row besides its numbers: brackets, separator, a line's indentation. */
const ROW_OVERHEAD = 256;

/** Bytes of a body besides its rows: the braces, the field names, 'proba', whitespace. */
const BODY_OVERHEAD = 64 * 1024;

/** Most bytes of JSON one row of `d` numbers may take. */
export function maxRowBytes(d: number): number {
  return d * JSON_BYTES_PER_NUMBER + ROW_OVERHEAD;
}

/**
 * The default body limit: `maxRows` rows of `d` numbers. A larger body cannot be a request the
 * server would accept written as clients write JSON, so it is refused by its Content-Length,
 * before it is read.
 */
export function defaultBodyLimit(maxRows: number, d: number): number {
  return maxRows * maxRowBytes(d) + BODY_OVERHEAD;
}

/** defaultBodyLimit in words, for --help. */
export const BODY_LIMIT_RULE = `--max-rows × (${JSON_BYTES_PER_NUMBER} × the model's input dim + ${ROW_OVERHEAD}) + ${BODY_OVERHEAD / 1024} KiB`;

export const ROUTES = ["POST /v1/predict", "GET /v1/model", "GET /healthz"] as const;
