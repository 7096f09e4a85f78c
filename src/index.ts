// deepclust's library API.
export * from "./engine/index.js";
export * from "./nn/index.js";
export * from "./cluster/index.js";
export * from "./dec/index.js";
export * from "./io/index.js";
