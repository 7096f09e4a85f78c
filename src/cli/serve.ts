// deepclust serve: a model directory behind an HTTP JSON API (src/serve/server.ts) until SIGTERM
// or SIGINT, which stop accepting connections, let the requests in flight finish (up to
// --shutdown-timeout-ms, then close the connections still open), and exit 0.

import { DEFAULTS } from "../config.js";
import { Command } from "commander";
import { resolve } from "node:path";
import type { Device } from "../engine/index.js";
import { BODY_LIMIT_RULE, ROUTES, defaultBodyLimit } from "../serve/defaults.js";
import { UsageError } from "./errors.js";
import { EMBED_MODEL_HELP, openModel } from "./texts.js";
import { choice, deviceOption, float, int, threadsOption } from "./options.js";
import { PRECISION_HELP, PRECISIONS, type Precision } from "./precision.js";

interface ServeCliOptions {
  embedModel?: string;
  port: number;
  host: string;
  threads: number;
  device: Device;
  precision: Precision;
  maxBatch: number;
  maxWaitMs: number;
  maxRows: number;
  bodyLimit?: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  shutdownTimeoutMs: number;
  log: boolean;
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("Serve a trained model over HTTP: POST /v1/predict, GET /v1/model, GET /healthz")
    .argument("<model-dir>", "a model directory written by `deepclust train`")
    .option("--port <n>", "TCP port (0 = any free port)", int("--port", 0), DEFAULTS.serve.port)
    .option("--host <address>", "address to listen on (0.0.0.0 = every interface)", DEFAULTS.serve.host)
    .option("--embed-model <dir>", EMBED_MODEL_HELP)
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option("--precision <p>", PRECISION_HELP, choice("--precision", PRECISIONS), DEFAULTS.precision)
    .option(
      "--max-batch <n>",
      "most rows per onnxruntime call; rows of concurrent requests are batched together",
      int("--max-batch", 1),
      DEFAULTS.serve.maxBatch,
    )
    .option(
      "--max-wait-ms <ms>",
      "longest a row waits for more rows before its batch runs",
      float("--max-wait-ms", { min: 0, max: 60_000 }),
      DEFAULTS.serve.maxWaitMs,
    )
    .option("--max-rows <n>", "most rows in one request (more: 413)", int("--max-rows", 1), DEFAULTS.serve.maxRows)
    .option(
      "--body-limit <bytes>",
      "largest request body (more: 413, refused by its Content-Length before it is read) (default: what --max-rows rows take, see below)",
      int("--body-limit", 1),
    )
    .option(
      "--headers-timeout-ms <ms>",
      "longest wait for a request's headers (then 408 and the connection closes)",
      int("--headers-timeout-ms", 1),
      DEFAULTS.serve.headersTimeoutMs,
    )
    .option(
      "--request-timeout-ms <ms>",
      "longest wait for a whole request, body included (then 408 and the connection closes)",
      int("--request-timeout-ms", 1),
      DEFAULTS.serve.requestTimeoutMs,
    )
    .option(
      "--keep-alive-timeout-ms <ms>",
      "how long an idle keep-alive connection stays open",
      int("--keep-alive-timeout-ms", 1),
      DEFAULTS.serve.keepAliveTimeoutMs,
    )
    .option(
      "--shutdown-timeout-ms <ms>",
      "on SIGTERM, how long the requests in flight have to finish before the connections still open are closed",
      int("--shutdown-timeout-ms", 0),
      DEFAULTS.serve.shutdownTimeoutMs,
    )
    .option("--log", "log every request as JSON lines on stdout (fastify's logger)", false)
    .addHelpText(
      "after",
      `
Example:
  deepclust serve runs/model --port 8080 &
  curl -s localhost:8080/v1/predict -H 'content-type: application/json' \\
       -d '{"embeddings": [[0.1, 0.2, ...]], "proba": true}'
  → {"labels":[3],"confidence":[0.91],"probabilities":[[...]]}

Errors are {"error": "..."} with status 400 (bad rows: wrong dimension, non-numbers, empty),
413 (body or row count over the limit), 415 (not application/json), 404 (unknown route),
408 (headers or body late: the time-outs), 503 (shutting down).
The body limit is by default ${BODY_LIMIT_RULE} bytes: a
larger body cannot hold --max-rows rows of JSON numbers as clients write them. Bodies are read
as they arrive: a request of more rows than --max-rows is refused at the first row too many.
SIGTERM / SIGINT: stop accepting, finish the requests in flight for up to --shutdown-timeout-ms,
then close the connections still open (stalled clients), exit 0.`,
    )
    .action(async (modelDir: string, o: ServeCliOptions) => serve(modelDir, o));
}

async function serve(modelDir: string, o: ServeCliOptions): Promise<void> {
  if (o.headersTimeoutMs > o.requestTimeoutMs)
    throw new UsageError(
      `--headers-timeout-ms (${o.headersTimeoutMs}) must not exceed --request-timeout-ms (${o.requestTimeoutMs})`,
    );
  const { model, encoder, release } = await openModel(modelDir, o);
  const { createServer, TEXTS_ROUTE } = await import("../serve/server.js"); // fastify loads for this command only
  const app = createServer(model, {
    ...(encoder ? { encoder } : {}),
    maxBatch: o.maxBatch,
    maxWaitMs: o.maxWaitMs,
    maxRows: o.maxRows,
    bodyLimit: o.bodyLimit,
    headersTimeoutMs: o.headersTimeoutMs,
    requestTimeoutMs: o.requestTimeoutMs,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs,
    shutdownTimeoutMs: o.shutdownTimeoutMs,
    logger: o.log,
    onServerError: (e) => process.stderr.write(`deepclust serve: ${e.stack ?? e.message}\n`),
  });
  let url: string;
  try {
    url = await app.listen({ port: o.port, host: o.host });
  } catch (e) {
    await release();
    throw e;
  }
  process.stderr.write(
    `deepclust serve: ${resolve(modelDir)} (${model.config.dims.join(" → ")}, k = ${model.k}) listening on ${url}\n`,
  );
  process.stderr.write(
    `deepclust serve: ${[...(encoder ? [`${TEXTS_ROUTE} (texts, embedded with ${encoder.info.name})`] : []), ...ROUTES].join(", ")}; batches of up to ${o.maxBatch} rows, waiting up to ${o.maxWaitMs} ms\n`,
  );
  process.stderr.write(
    `deepclust serve: requests of up to ${o.maxRows} rows and ${o.bodyLimit ?? defaultBodyLimit(o.maxRows, model.inputDim)} bytes; ` +
      `time-outs: headers ${o.headersTimeoutMs} ms, request ${o.requestTimeoutMs} ms, keep-alive ${o.keepAliveTimeoutMs} ms, shutdown ${o.shutdownTimeoutMs} ms\n`,
  );
  const outliers = model.config.outliers;
  if (outliers)
    process.stderr.write(
      `deepclust serve: label -1 (outlier) below confidence ${outliers.minConfidence.toFixed(4)}, the model's default (a request's minConfidence / outlierRate overrides it)\n`,
    );

  // The command line's own SIGINT handler exits at once; a server shuts down gracefully instead.
  process.removeAllListeners("SIGINT");
  await new Promise<void>((done) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (closing) {
        process.stderr.write(`deepclust serve: ${signal} again, exiting without waiting\n`);
        process.exit(130);
      }
      closing = true;
      process.stderr.write(
        `deepclust serve: ${signal}, closing: finishing the requests in flight (for up to ${o.shutdownTimeoutMs} ms)\n`,
      );
      app
        .shutdown()
        .then(({ forcedConnections }) => {
          if (forcedConnections > 0)
            process.stderr.write(
              `deepclust serve: closed ${forcedConnections} connection(s) still open after ${o.shutdownTimeoutMs} ms\n`,
            );
          return release();
        })
        .then(
          () => {
            process.stderr.write("deepclust serve: stopped\n");
            done();
          },
          (e: unknown) => {
            process.stderr.write(
              `deepclust serve: error while closing: ${e instanceof Error ? e.message : String(e)}\n`,
            );
            process.exitCode = 1;
            done();
          },
        );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}
