// The CLI is a shell over the public API: every value it imports from the library is exported by
// one of the package's entry points (deepclust, deepclust/serve, deepclust/report). It imports
// them from their modules rather than the barrels only to start faster (see src/cli/main.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import * as main from "../src/index.js";
import * as serve from "../src/serve/index.js";
import * as report from "../src/report/index.js";

test("the CLI imports only names the package exports", () => {
  const publicNames = new Set([...Object.keys(main), ...Object.keys(serve), ...Object.keys(report)]);
  const dir = new URL("../src/cli/", import.meta.url);
  const notPublic: string[] = [];
  let checked = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
    const source = readFileSync(new URL(file, dir), "utf8");
    for (const m of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*"\.\.\/([^"]+)"/g)) {
      for (const part of m[1]!.split(",")) {
        const name = part
          .trim()
          .split(/\s+as\s+/)[0]!
          .trim();
        if (!name || name.startsWith("type ")) continue;
        checked++;
        if (!publicNames.has(name)) notPublic.push(`${file}: ${name} (from ../${m[2]})`);
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} imported names found: is the pattern still right?`);
  assert.deepEqual(notPublic, []);
});
