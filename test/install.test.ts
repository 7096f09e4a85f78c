// The install: every package in the lock file supports every Node version our `engines` admits
// (npm prints EBADENGINE otherwise), npm knows every setting in .npmrc, and no dependency's install
// script may run (onnxruntime-node's would download CUDA binaries from NuGet). .ci/run also fails
// on any warning printed by a clean `npm ci`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import semver from "semver";

const root = new URL("../", import.meta.url);
const json = (file: string) => JSON.parse(readFileSync(new URL(file, root), "utf8")) as Record<string, unknown>;

interface LockEntry {
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
}

test("every locked package supports every Node version that package.json's engines admits", () => {
  const ours = (json("package.json").engines as { node: string }).node;
  assert.ok(semver.validRange(ours), ours);
  const packages = json("package-lock.json").packages as Record<string, LockEntry>;
  const narrower = Object.entries(packages)
    .filter(([path, p]) => path !== "" && !Array.isArray(p.engines) && p.engines?.node !== undefined)
    .filter(([, p]) => !semver.subset(ours, (p.engines as { node: string }).node))
    .map(([path, p]) => `${path.replace(/^node_modules\//, "")} needs node ${(p.engines as { node: string }).node}`);
  assert.deepEqual(narrower, [], `engines.node is '${ours}'`);
});

test("npm knows every setting in .npmrc", () => {
  const keys = readFileSync(new URL(".npmrc", root), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#") && !line.startsWith(";"))
    .map((line) => line.split("=")[0]!.trim());
  // npm's own settings and their defaults, listed outside the project so that .npmrc adds nothing.
  const known = spawnSync("npm", ["config", "ls", "--json", "-l"], { encoding: "utf8", cwd: tmpdir() });
  assert.equal(known.status, 0, known.stderr);
  const settings = JSON.parse(known.stdout) as Record<string, unknown>;
  for (const key of keys) assert.ok(key in settings, `.npmrc sets '${key}', which npm does not know`);
});

test("no dependency's install script is allowed to run (no download at install time)", () => {
  const allow = (json("package.json").allowScripts ?? {}) as Record<string, boolean>;
  const packages = json("package-lock.json").packages as Record<string, LockEntry>;
  const withScripts = [
    ...new Set(
      Object.entries(packages)
        .filter(([, p]) => p.hasInstallScript)
        .map(([path]) => path.replace(/^.*node_modules\//, "")),
    ),
  ];
  assert.ok(withScripts.includes("onnxruntime-node"), "onnxruntime-node has an install script (the CUDA download)");
  for (const name of withScripts)
    assert.equal(
      allow[name],
      false,
      `${name} has an install script: package.json allowScripts must deny it ("${name}": false)`,
    );
});
