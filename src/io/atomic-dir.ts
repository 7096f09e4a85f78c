// Writes a directory's files under a temporary name beside it, then renames it into place, so an
// interrupted or failed run never leaves a half-written model or checkpoint directory.

import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { assertReplaceable, type OwnedDirKind } from "./output-paths.js";

/**
 * Writes `dir` through `write(tmp)`. An existing `dir` is replaced only when `replace` is given and
 * recognises it as its own kind (checked again here, at the moment of replacing); otherwise it is
 * an error. The old directory is moved aside before the new one takes its name, then removed.
 */
export function writeDirAtomically(dir: string, replace: OwnedDirKind | null, write: (tmp: string) => void): void {
  const base = dir.replace(/[/\\]+$/, "");
  if (existsSync(base)) {
    if (!replace) throw new Error(`${dir} already exists`);
    assertReplaceable(base, replace);
  }
  const tmp = `${base}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    write(tmp);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const old = `${base}.old.tmp-${process.pid}`;
  let movedAside = false;
  try {
    if (existsSync(base)) {
      renameSync(base, old);
      movedAside = true;
    }
    renameSync(tmp, base);
  } catch (e) {
    if (movedAside && !existsSync(base)) renameSync(old, base);
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (movedAside) rmSync(old, { recursive: true, force: true });
}
