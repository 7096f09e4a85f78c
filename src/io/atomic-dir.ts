// Writes a directory's files under a temporary name beside it, then renames it into place, so an
// interrupted or failed run never leaves a half-written model or checkpoint directory.

import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";

export function writeDirAtomically(dir: string, overwrite: boolean, write: (tmp: string) => void): void {
  if (existsSync(dir) && !overwrite) throw new Error(`${dir} already exists`);
  const tmp = `${dir.replace(/[/\\]+$/, "")}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    write(tmp);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}
