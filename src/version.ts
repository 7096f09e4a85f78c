// deepclust's version, read once from package.json (the CLI's --version, config.json, the server).

import { readFileSync } from "node:fs";

export const DEEPCLUST_VERSION = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
