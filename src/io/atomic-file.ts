// Writes a file through a temporary file beside it and a rename: a reader sees the old file or the
// whole new one, never a half-written one, and a failed write leaves no temporary file behind.

import { renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export function writeFileAtomically(file: string, data: string | Uint8Array): void {
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
