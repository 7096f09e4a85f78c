// deepclust's library API.
export * from "./engine/index.js";
export * from "./nn/index.js";
export * from "./cluster/index.js";
export * from "./dec/index.js";
export * from "./io/index.js";
export * from "./pipeline/index.js";
export * from "./text/index.js";
export { DEEPCLUST_VERSION } from "./version.js";
export { DEFAULTS, resolveConfig, trainingRecord, optimizerOf, type ResolvedConfig } from "./config.js";
// Also public, from their own entry points (they load fastify and the report's renderer):
// "deepclust/serve" (src/serve/index.ts) and "deepclust/report" (src/report/index.ts).
