// The HTTP server of `deepclust serve`: a model directory behind a small JSON API on fastify.
//
//   POST /v1/predict  {"embeddings": [[...], ...], "proba"?: true, "minConfidence"?: F, "outlierRate"?: R}
//                     → {"labels": [...], "confidence": [...], "probabilities"?: [[...], ...]}
//                     (label -1: an outlier, confidence below the request's threshold or the model's default)
//   POST /v1/predict-texts  {"texts": ["...", ...], "proba"?: true, outlier fields as above}, for a model trained from texts
//                     (train --embed-model): embedded with its embedding model, then as above
//   GET  /v1/model    the model's configuration (dims, k, alpha, method, label mapping, versions)
//   GET  /healthz     {"status": "ok"}
//
// Rows of concurrent requests are micro-batched into one onnxruntime call (micro-batcher.ts).
// Every error is a JSON body {"error": "..."} with a 4xx status naming the problem (5xx only
// for failures of the server itself, and 503 while it shuts down); the server keeps serving
// after any of them. Bodies are read as they arrive (predict-body.ts): a body over the limit is
// refused by its Content-Length before it is read, and one of too many rows at row maxRows + 1.
// Time-outs for headers, whole requests and idle keep-alive connections, and a deadline on
// shutdown, keep stalled clients from holding connections (defaults.ts).

import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from "fastify";
import { DEEPCLUST_VERSION } from "../version.js";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { argmaxRows, type Matrix } from "../engine/matrix.js";
import type { DECModel } from "../dec/model-dir.js";
import { markOutliers, type OutlierOptions } from "../dec/outliers.js";
import type { SentenceEncoder } from "../text/sentence-encoder.js";
import { MicroBatcher } from "./micro-batcher.js";
import { ROUTES, SERVE_DEFAULTS, defaultBodyLimit } from "./defaults.js";
import { BODY_SHAPE, PredictBodyReader, type PredictBody } from "./predict-body.js";
import { RequestError } from "./request-error.js";

export { RequestError } from "./request-error.js";

/** The key of a body's rows, beside its fields: a symbol, unseen by the schema (and by JSON). */
const ROWS = Symbol("rows");

/** The body's fields, with its rows under ROWS when it is an object (else the schema refuses it). */
function withRows(body: PredictBody): unknown {
  if (typeof body.fields === "object" && body.fields !== null)
    (body.fields as { [ROWS]?: Matrix | null })[ROWS] = body.rows;
  return body.fields;
}

/** Bytes of a body parsed between two turns of the event loop. */
const SLICE_BYTES = 64 * 1024;

export interface ServeOptions {
  /** Most rows per onnxruntime call (default 256). */
  maxBatch?: number;
  /** Longest wait for more rows before a batch runs, in milliseconds (default 2). */
  maxWaitMs?: number;
  /** Most rows in one request (default 10,000). */
  maxRows?: number;
  /** Largest request body in bytes (default: what `maxRows` rows of the model's input take, defaultBodyLimit). */
  bodyLimit?: number;
  /** Longest wait for a request's headers, in ms (default 10 s). */
  headersTimeoutMs?: number;
  /** Longest wait for a whole request, body included, in ms (default 30 s); at least headersTimeoutMs. */
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open, in ms (default 72 s). */
  keepAliveTimeoutMs?: number;
  /** How long `shutdown()` lets the requests in flight finish before it closes the connections still open, in ms (default 10 s). */
  shutdownTimeoutMs?: number;
  /** fastify's logger option (default off). */
  logger?: FastifyServerOptions["logger"];
  /** Called with every error answered by a 5xx status (failures of the server, not of requests). */
  onServerError?: (err: Error) => void;
  /**
   * The embedding model of a model trained from texts (see openRecordedEncoder): adds POST
   * /v1/predict-texts. The caller keeps it: release it after `close()`.
   */
  encoder?: SentenceEncoder;
}

/**
 * The fastify instance, with the model it serves, its batcher (whose stats count the onnxruntime
 * calls), and `shutdown()`: close, closing the connections still open after the shutdown time-out.
 */
export type DeepclustServer = FastifyInstance & {
  readonly model: DECModel;
  readonly batcher: MicroBatcher;
  shutdown(): Promise<ShutdownReport>;
};

export interface ShutdownReport {
  /** Connections still open at the deadline, closed then (0 when every request finished in time). */
  forcedConnections: number;
}

export interface PredictResponse {
  /** Every row's cluster; -1: an outlier (its confidence is below the threshold applied). */
  labels: number[];
  confidence: number[];
  probabilities?: number[][];
}

/**
 * A fastify instance serving `model` (not yet listening: call `listen`, or `inject` in tests).
 * The model stays the caller's: release it after `close()` (which waits for the batches running).
 */
export function createServer(model: DECModel, options: ServeOptions = {}): DeepclustServer {
  const maxBatch = options.maxBatch ?? SERVE_DEFAULTS.maxBatch;
  const maxWaitMs = options.maxWaitMs ?? SERVE_DEFAULTS.maxWaitMs;
  const maxRows = options.maxRows ?? SERVE_DEFAULTS.maxRows;
  const d = model.inputDim;
  const k = model.k;
  const bodyLimit = options.bodyLimit ?? defaultBodyLimit(maxRows, d);
  const headersTimeoutMs = options.headersTimeoutMs ?? SERVE_DEFAULTS.headersTimeoutMs;
  const requestTimeoutMs = options.requestTimeoutMs ?? SERVE_DEFAULTS.requestTimeoutMs;
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? SERVE_DEFAULTS.keepAliveTimeoutMs;
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SERVE_DEFAULTS.shutdownTimeoutMs;
  for (const [name, v, min] of [
    ["maxRows", maxRows, 1],
    ["bodyLimit", bodyLimit, 1],
    ["headersTimeoutMs", headersTimeoutMs, 1],
    ["requestTimeoutMs", requestTimeoutMs, 1],
    ["keepAliveTimeoutMs", keepAliveTimeoutMs, 1],
    ["shutdownTimeoutMs", shutdownTimeoutMs, 0],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${v}`);
  }
  if (headersTimeoutMs > requestTimeoutMs)
    throw new RangeError(
      `the headers time-out (${headersTimeoutMs} ms) must not exceed the request time-out (${requestTimeoutMs} ms)`,
    );
  // One onnxruntime call per batch: the whole batch in one run of the inference graph.
  const batcher = new MicroBatcher((X) => model.predictProba(X, Math.max(1, X.rows)), { cols: d, maxBatch, maxWaitMs });

  const app = Fastify({
    logger: options.logger ?? false,
    // The body's numbers are checked by hand (predict-body.ts): the schema must not coerce "1" or null.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    schemaErrorFormatter: (errors) => new RequestError(400, schemaMessage(errors[0])),
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    // Node checks the header and request time-outs every connectionsCheckingInterval (30 s by
    // default, which would let a stalled client stay up to 30 s past its time-out).
    http: {
      headersTimeout: headersTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
    },
    // Closing answers 503 in this server's own shape (preParsing below), not fastify's.
    return503OnClosing: false,
    forceCloseConnections: "idle",
    // Errors of the transport (time-outs, malformed HTTP) and of routing, in the one shape too.
    clientErrorHandler: (err, socket) => answerClientError(err, socket, headersTimeoutMs, requestTimeoutMs),
    frameworkErrors: (err, _request, reply) =>
      send(reply, typeof err.statusCode === "number" && err.statusCode >= 400 ? err.statusCode : 400, err.message),
  });
  app.decorate("model", model);
  app.decorate("batcher", batcher);

  let closing = false;
  // Without a listener, Node sends "100 Continue" at once; preParsing sends it once the Content-Length is known to be within the limit.
  app.server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => app.server.emit("request", req, res));
  app.addHook("preParsing", (request, reply, payload, done) => {
    // Requests arriving on open connections while the server closes (every route: preParsing runs for all).
    if (closing) return send(reply, 503, "the server is shutting down: send the request again (to another instance)");
    const length = Number(request.headers["content-length"] ?? 0);
    if (length > bodyLimit)
      return done(new RequestError(413, tooLarge(`${length} bytes`, bodyLimit, maxRows, d)), payload);
    if (/^100-continue$/i.test(request.headers.expect ?? "")) reply.raw.writeContinue();
    done(null, payload);
  });

  // JSON only (fastify also parses text/plain by default), read as it arrives.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", (request, payload, done) => {
    const tooLong = () => new RequestError(413, tooLarge("the body", bodyLimit, maxRows, d));
    readBody(
      payload,
      new PredictBodyReader(d, maxRows),
      bodyLimit,
      Number(request.headers["content-length"] ?? -1),
      tooLong,
      (e, body) => {
        if (body) done(null, withRows(body));
        else
          done(
            e instanceof RequestError
              ? e
              : new RequestError(400, `the request body was cut off: ${(e as Error).message}`),
            undefined,
          );
      },
    );
  });
  // The first inference compiles the graph: do it before the first request.
  app.addHook("onReady", async () => {
    await model.predictProba({ data: new Float32Array(d), rows: 1, cols: d }, 1);
  });

  // Graceful close: a keep-alive connection would hold close() open until the client drops it,
  // so responses sent while closing (the requests in flight) end their connections, and requests
  // arriving on open connections meanwhile are refused with 503 (preParsing above).
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) void reply.header("connection", "close");
    done(null, payload);
  });
  // A forced close (shutdown's deadline) can leave a batch running: the model must outlive it.
  app.addHook("onClose", async () => {
    await batcher.idle();
  });
  app.decorate("shutdown", async (): Promise<ShutdownReport> => {
    let forcedConnections = 0;
    const deadline = setTimeout(() => {
      app.server.getConnections((_e, n) => {
        forcedConnections = n;
        app.server.closeAllConnections();
      });
    }, shutdownTimeoutMs);
    try {
      await app.close();
    } finally {
      clearTimeout(deadline);
    }
    return { forcedConnections };
  });

  const modelSummary = {
    inputDim: d,
    dims: [...model.config.dims],
    codeDim: model.config.dims[model.config.dims.length - 1],
    k,
    alpha: model.config.alpha,
    method: model.config.method,
    labelMapping: model.config.labelMapping,
    /** The embedding model of a model trained from texts (POST /v1/predict-texts), else null. */
    embedding: model.config.embedding ?? null,
    /** The default outlier threshold predictions apply (a request's minConfidence 0 turns it off), else null. */
    outliers: model.config.outliers ?? null,
    /** Whether a request may give an outlierRate (the model records its training confidences). */
    outlierRate: model.config.confidence !== undefined,
    deepclustVersion: model.config.deepclustVersion,
    createdAt: model.config.createdAt,
    server: {
      deepclustVersion: DEEPCLUST_VERSION,
      precision: model.precision,
      maxBatch,
      maxWaitMs,
      maxRows,
      bodyLimit,
    },
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
          // The rows are not described here: the body's reader checks them as it copies them ("embeddings": [] here).
          properties: { embeddings: { type: "array" }, proba: { type: "boolean" }, ...OUTLIER_FIELDS },
        },
      },
    },
    async (request): Promise<PredictResponse> => {
      const body = request.body as { embeddings: unknown[]; proba?: boolean } & OutlierOptions;
      // Every body whose 'embeddings' passes the schema has had its rows read.
      const X = (request.body as { [ROWS]?: Matrix | null })[ROWS];
      if (!X) throw new Error("the rows of 'embeddings' were not read");
      if (X.rows === 0) throw new RequestError(400, "'embeddings' is empty: give at least one row");
      const threshold = requestThreshold(model, body);
      return response(await batcher.submit(X), k, body.proba === true, threshold);
    },
  );

  const routes: string[] = [...ROUTES];
  if (options.encoder) {
    routes.unshift(TEXTS_ROUTE);
    app.register(textsRoute(options.encoder, batcher, model, { maxRows, bodyLimit, k }));
  }

  app.setNotFoundHandler((request, reply) => {
    send(reply, 404, `no route ${request.method} ${request.url.split("?")[0]} (the routes: ${routes.join(", ")})`);
  });

  app.setErrorHandler((err: FastifyError | RequestError, request, reply) => {
    const { status, message } = describeError(err, request.headers["content-type"]);
    if (status >= 500) {
      request.log.error(err);
      options.onServerError?.(err);
    }
    // A body refused before its end: close the connection rather than read the rest of it.
    if (!request.raw.complete) void reply.header("connection", "close");
    send(reply, status, message);
  });

  return app as unknown as DeepclustServer;
}

/**
 * Reads a request body into `reader`, a slice of at most SLICE_BYTES at a time with a turn of the
 * event loop after each, so that other requests go on while a large body arrives; refuses it with
 * `tooLong()` at the first byte over `limit` (bodies without a Content-Length are counted too).
 * A small body arriving whole in one chunk is read at once.
 */
function readBody(
  payload: IncomingMessage,
  reader: PredictBodyReader,
  limit: number,
  contentLength: number,
  tooLong: () => Error,
  then: (e: unknown, body?: PredictBody) => void,
): void {
  let received = 0;
  let settled = false;
  const settle = (e: unknown, body?: PredictBody) => {
    if (settled) return;
    settled = true;
    payload.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
    then(e, body);
  };
  /** Reads chunk[from, to); false once the body is refused. */
  const read = (chunk: Buffer, from: number, to: number): boolean => {
    try {
      received += to - from;
      if (received > limit) throw tooLong();
      reader.write(chunk.subarray(from, to));
      return true;
    } catch (e) {
      settle(e);
      return false;
    }
  };
  const onData = (chunk: Buffer) => {
    // A small body's last chunk is read at once: pausing and resuming the stream costs more than a slice.
    if (chunk.length <= SLICE_BYTES && received + chunk.length === contentLength) {
      read(chunk, 0, chunk.length);
      return;
    }
    payload.pause();
    let at = 0;
    const step = () => {
      if (settled) return;
      const to = Math.min(chunk.length, at + SLICE_BYTES);
      if (!read(chunk, at, to)) return;
      at = to;
      if (at < chunk.length) setImmediate(step);
      else setImmediate(() => settled || payload.resume());
    };
    step();
  };
  const onEnd = () => {
    try {
      settle(null, reader.end());
    } catch (e) {
      settle(e);
    }
  };
  const onError = (e: Error) => settle(e);
  const onClose = () => settle(new Error("the connection closed"));
  payload.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
}

/** Float32 values as JSON numbers with 9 significant digits: short, and exactly the same float32 back. */
function compact(values: Float32Array): number[] {
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Number(values[i]!.toPrecision(9));
  return out;
}

function schemaMessage(
  e: { keyword: string; instancePath: string; params: Record<string, unknown>; message?: string } | undefined,
): string {
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

function describeError(
  err: FastifyError | RequestError,
  contentType: string | undefined,
): { status: number; message: string } {
  if (err instanceof RequestError) return { status: err.statusCode, message: err.message };
  if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return {
      status: 415,
      message: `unsupported content type ${contentType ? `'${contentType}'` : "(none)"}: send the body as application/json`,
    };
  }
  const status =
    typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
  if (status >= 500) return { status, message: `internal error: ${err.message}` };
  return { status, message: err.message };
}

/** Every answer of an error: {"error": message}. */
function send(reply: FastifyReply, status: number, message: string): void {
  void reply.code(status).send({ error: message });
}

function tooLarge(what: string, limit: number, maxRows: number, d: number): string {
  return `${what} is over the limit of ${limit} bytes (--body-limit; ${maxRows} rows of ${d} numbers take less): send fewer rows per request`;
}

/**
 * Answers an error of the connection itself (Node's 'clientError': a time-out, malformed HTTP) in
 * the one JSON shape, then closes it; as Node does, nothing is written once a response has begun.
 */
function answerClientError(
  err: Error & { code?: string },
  socket: Socket,
  headersTimeoutMs: number,
  requestTimeoutMs: number,
): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const response = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  let status = 400;
  let message = `malformed HTTP request (${err.code ?? err.message})`;
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    status = 408;
    // A response object exists once the headers have arrived: then the body is what was late.
    message = response
      ? `the request body did not arrive within the request time-out of ${requestTimeoutMs} ms (--request-timeout-ms)`
      : `the request headers did not arrive within the headers time-out of ${headersTimeoutMs} ms (--headers-timeout-ms)`;
  } else if (err.code === "HPE_HEADER_OVERFLOW") {
    status = 431;
    message = "the request headers are too large";
  }
  if (socket.writable && !response?.headersSent) {
    const body = JSON.stringify({ error: message });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** The route of a model trained from texts. */
export const TEXTS_ROUTE = "POST /v1/predict-texts";

/**
 * POST /v1/predict-texts in its own plugin context: its body is ordinary JSON (texts are short
 * beside rows of numbers, so it is parsed whole, within the same byte limit), the texts are
 * embedded by `encoder`, and their rows join the same micro-batches as /v1/predict's.
 */
function textsRoute(
  encoder: SentenceEncoder,
  batcher: MicroBatcher,
  model: DECModel,
  limits: { maxRows: number; bodyLimit: number; k: number },
) {
  return async (texts: FastifyInstance) => {
    texts.removeAllContentTypeParsers();
    texts.addContentTypeParser(
      "application/json",
      { parseAs: "string", bodyLimit: limits.bodyLimit },
      (_request, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch (e) {
          done(new RequestError(400, `the body is not valid JSON (${(e as Error).message})`), undefined);
        }
      },
    );
    texts.post(
      "/v1/predict-texts",
      {
        schema: {
          body: {
            type: "object",
            required: ["texts"],
            additionalProperties: false,
            properties: {
              texts: { type: "array", items: { type: "string" }, minItems: 1, maxItems: limits.maxRows },
              proba: { type: "boolean" },
              ...OUTLIER_FIELDS,
            },
          },
        },
      },
      async (request): Promise<PredictResponse> => {
        const body = request.body as { texts: string[]; proba?: boolean } & OutlierOptions;
        const threshold = requestThreshold(model, body);
        const q = await batcher.submit(await encoder.embed(body.texts));
        return response(q, limits.k, body.proba === true, threshold);
      },
    );
  };
}

/** The request's outlier fields in the schemas (their ranges are checked by requestThreshold, with clearer messages). */
const OUTLIER_FIELDS = { minConfidence: { type: "number" }, outlierRate: { type: "number" } } as const;

/** The threshold a request asks for (or the model's default; null: none); a bad or conflicting value is a 400. */
function requestThreshold(model: DECModel, body: OutlierOptions): number | null {
  try {
    return model.outlierThreshold({
      ...(body.minConfidence !== undefined ? { minConfidence: body.minConfidence } : {}),
      ...(body.outlierRate !== undefined ? { outlierRate: body.outlierRate } : {}),
    });
  } catch (e) {
    if (e instanceof RangeError) throw new RequestError(400, e.message);
    throw e;
  }
}

/** The answer to a prediction: every row's cluster (-1: below the threshold) and confidence, and with `proba` every q. */
function response(q: Matrix, k: number, proba: boolean, minConfidence: number | null): PredictResponse {
  const { index, max } = argmaxRows(q);
  markOutliers(index, max, minConfidence);
  const out: PredictResponse = { labels: Array.from(index), confidence: compact(max) };
  if (proba) {
    const rows: number[][] = new Array<number[]>(q.rows);
    for (let i = 0; i < q.rows; i++) rows[i] = compact(q.data.subarray(i * k, (i + 1) * k));
    out.probabilities = rows;
  }
  return out;
}
