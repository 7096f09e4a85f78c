// The HTTP server of `deepclust serve`: a model directory behind a small JSON API on fastify.
//
//   POST /v1/predict  {"embeddings": [[...], ...], "proba"?: true}
//                     → {"labels": [...], "confidence": [...], "probabilities"?: [[...], ...]}
//   GET  /v1/model    the model's configuration (dims, k, alpha, method, label mapping, versions)
//   GET  /healthz     {"status": "ok"}
//
// Rows of concurrent requests are micro-batched into one onnxruntime call (micro-batcher.ts).
// Every error is a JSON body {"error": "..."} with a 4xx status naming the problem (5xx only
// for failures of the server itself); the server keeps serving after any of them.

import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { readFileSync } from "node:fs";
import { argmaxRows, type Matrix } from "../engine/matrix.js";
import type { DECModel } from "../dec/model-dir.js";
import { MicroBatcher } from "./micro-batcher.js";
import { ROUTES, SERVE_DEFAULTS } from "./defaults.js";

const { version: DEEPCLUST_VERSION } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };


export interface ServeOptions {
  /** Most rows per onnxruntime call (default 256). */
  maxBatch?: number;
  /** Longest wait for more rows before a batch runs, in milliseconds (default 2). */
  maxWaitMs?: number;
  /** Most rows in one request (default 10,000). */
  maxRows?: number;
  /** Largest request body in bytes (default 64 MiB). */
  bodyLimit?: number;
  /** fastify's logger option (default off). */
  logger?: FastifyServerOptions["logger"];
  /** Called with every error answered by a 5xx status (failures of the server, not of requests). */
  onServerError?: (err: Error) => void;
}

/** The fastify instance, with the model it serves and its batcher (whose stats count the onnxruntime calls). */
export type DeepclustServer = FastifyInstance & { readonly model: DECModel; readonly batcher: MicroBatcher };

export interface PredictResponse {
  labels: number[];
  confidence: number[];
  probabilities?: number[][];
}

const BODY_SHAPE = `{"embeddings": [[...], ...], "proba"?: true}`;

/** A client error: answered with `status` and {"error": message}. */
export class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A fastify instance serving `model` (not yet listening: call `listen`, or `inject` in tests).
 * The model stays the caller's: release it after `close()`.
 */
export function createServer(model: DECModel, options: ServeOptions = {}): DeepclustServer {
  const maxBatch = options.maxBatch ?? SERVE_DEFAULTS.maxBatch;
  const maxWaitMs = options.maxWaitMs ?? SERVE_DEFAULTS.maxWaitMs;
  const maxRows = options.maxRows ?? SERVE_DEFAULTS.maxRows;
  const bodyLimit = options.bodyLimit ?? SERVE_DEFAULTS.bodyLimit;
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be a positive integer, got ${maxRows}`);
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1) throw new RangeError(`bodyLimit must be a positive integer, got ${bodyLimit}`);
  const d = model.inputDim;
  const k = model.k;
  // One onnxruntime call per batch: the whole batch in one run of the inference graph.
  const batcher = new MicroBatcher((X) => model.predictProba(X, Math.max(1, X.rows)), { cols: d, maxBatch, maxWaitMs });

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit,
    // The body's numbers are checked by hand (toMatrix): the schema must not coerce "1" or null.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    schemaErrorFormatter: (errors) => new RequestError(400, schemaMessage(errors[0])),
    return503OnClosing: true,
    forceCloseConnections: "idle",
  });
  app.decorate("model", model);
  app.decorate("batcher", batcher);

  // JSON only (fastify also parses text/plain by default), with the parser's own message.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === "") return done(new RequestError(400, `empty body: send ${BODY_SHAPE}`), undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(new RequestError(400, `malformed JSON: ${(e as Error).message}`), undefined);
    }
  });

  // The first inference compiles the graph: do it before the first request.
  app.addHook("onReady", async () => {
    await model.predictProba({ data: new Float32Array(d), rows: 1, cols: d }, 1);
  });

  // Graceful close: a keep-alive connection would hold close() open until the client drops it,
  // so responses sent while closing (the requests in flight) end their connections.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) void reply.header("connection", "close");
    done(null, payload);
  });

  const modelSummary = {
    inputDim: d,
    dims: [...model.config.dims],
    codeDim: model.config.dims[model.config.dims.length - 1],
    k,
    alpha: model.config.alpha,
    method: model.config.method,
    labelMapping: model.config.labelMapping,
    deepclustVersion: model.config.deepclustVersion,
    createdAt: model.config.createdAt,
    server: { deepclustVersion: DEEPCLUST_VERSION, precision: model.precision, maxBatch, maxWaitMs, maxRows, bodyLimit },
  };

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/v1/model", async () => modelSummary);

  app.post(
    "/v1/predict",
    {
      schema: {
        body: {
          type: "object",
          required: ["embeddings"],
          additionalProperties: false,
          // The rows are not described here: toMatrix checks them in one pass as it copies them.
          properties: { embeddings: { type: "array" }, proba: { type: "boolean" } },
        },
      },
    },
    async (request): Promise<PredictResponse> => {
      const body = request.body as { embeddings: unknown[]; proba?: boolean };
      const X = toMatrix(body.embeddings, d, maxRows);
      const q = await batcher.submit(X);
      const { index, max } = argmaxRows(q);
      const out: PredictResponse = { labels: Array.from(index), confidence: compact(max) };
      if (body.proba) {
        const rows: number[][] = new Array<number[]>(q.rows);
        for (let i = 0; i < q.rows; i++) rows[i] = compact(q.data.subarray(i * k, (i + 1) * k));
        out.probabilities = rows;
      }
      return out;
    },
  );

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route ${request.method} ${request.url.split("?")[0]} (the routes: ${ROUTES.join(", ")})` });
  });

  app.setErrorHandler((err: FastifyError | RequestError, request, reply) => {
    const { status, message } = describeError(err, bodyLimit, request.headers["content-type"]);
    if (status >= 500) {
      request.log.error(err);
      options.onServerError?.(err);
    }
    void reply.code(status).send({ error: message });
  });

  return app as unknown as DeepclustServer;
}

/**
 * The rows of a request as one float32 matrix, every value checked: an array of `d` finite
 * numbers per row, at least one row and at most `maxRows`.
 */
export function toMatrix(rows: unknown[], d: number, maxRows: number): Matrix {
  const n = rows.length;
  if (n === 0) throw new RequestError(400, "'embeddings' is empty: give at least one row");
  if (n > maxRows) throw new RequestError(413, `too many rows: ${n}, the limit is ${maxRows} per request (split the request, or raise --max-rows)`);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = rows[i];
    if (!Array.isArray(row)) throw new RequestError(400, `embeddings[${i}] is ${describe(row)}, not an array of ${d} numbers`);
    if (row.length !== d) throw new RequestError(400, `embeddings[${i}] has dimension ${row.length}, expected ${d}`);
    const at = i * d;
    for (let j = 0; j < d; j++) {
      const v: unknown = row[j];
      if (typeof v !== "number") {
        const hint = typeof v === "string" && /^[+-]?(nan|inf(inity)?)$/i.test(v.trim()) ? ": NaN and infinities are not allowed" : "";
        throw new RequestError(400, `embeddings[${i}][${j}] is ${describe(v)}, not a number${hint}`);
      }
      data[at + j] = v;
      if (!Number.isFinite(data[at + j]!)) throw new RequestError(400, `embeddings[${i}][${j}] = ${v} is not finite in float32 (|x| must be below 3.4e38)`);
    }
  }
  return { data, rows: n, cols: d };
}

/** Float32 values as JSON numbers with 9 significant digits: short, and exactly the same float32 back. */
function compact(values: Float32Array): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i]!.toPrecision(9));
  return out;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "object") return "an object";
  if (v === undefined) return "missing";
  return `${typeof v} ${String(v)}`;
}

function schemaMessage(e: { keyword: string; instancePath: string; params: Record<string, unknown>; message?: string } | undefined): string {
  if (!e) return `invalid body: send ${BODY_SHAPE}`;
  const field = e.instancePath.replace(/^\//, "").replace(/\//g, ".");
  switch (e.keyword) {
    case "required":
      return `missing field '${String(e.params.missingProperty)}': send ${BODY_SHAPE}`;
    case "additionalProperties":
      return `unknown field '${String(e.params.additionalProperty)}': send ${BODY_SHAPE}`;
    case "type":
      if (field === "") return `the body must be a JSON object: ${BODY_SHAPE}`;
      if (field === "embeddings") return `'embeddings' must be an array of rows (arrays of numbers)`;
      return `'${field}' must be a ${String(e.params.type)}`;
    default:
      return `invalid body: ${field || "body"} ${e.message ?? e.keyword}`;
  }
}

function describeError(err: FastifyError | RequestError, bodyLimit: number, contentType: string | undefined): { status: number; message: string } {
  if (err instanceof RequestError) return { status: err.statusCode, message: err.message };
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { status: 413, message: `request body over the limit of ${bodyLimit} bytes (--body-limit); send fewer rows per request` };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { status: 415, message: `unsupported content type ${contentType ? `'${contentType}'` : "(none)"}: send the body as application/json` };
  }
  const status = typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  if (status >= 500) return { status, message: `internal error: ${err.message}` };
  return { status, message: err.message };
}
