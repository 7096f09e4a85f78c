// The server's defaults and routes, apart from server.ts so that the command line can show them
// without loading fastify.

import { DEFAULTS } from "../config.js";

/** The server's defaults (defined in config.ts, with every other default). */
export const SERVE_DEFAULTS = DEFAULTS.serve;

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
