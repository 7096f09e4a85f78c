// Choosing columns by name, shared by the CSV, JSONL and Parquet readers: the user's name wins
// and must exist; otherwise the conventional names are tried, exactly, then ignoring case.

import { InputError } from "./errors.js";

export const LABEL_NAMES = ["labels", "label"] as const;
/** Names of an embeddings column/key, in order of preference (the reference implementation CSV uses the first). */
export const EMBEDDING_NAMES = ["embeddings", "embedding", "vector", "vectors"] as const;

/** Index of the column the user named; a missing one lists what the file has. */
export function requireColumn(file: string, names: readonly string[], wanted: string, what = "columns"): number {
  const i = names.indexOf(wanted);
  if (i < 0) throw new InputError(file, `not found (the file has ${what} ${listNames(names)})`, undefined, wanted);
  return i;
}

/** Index of the first conventional name present (exact match first, then any case), or -1. */
export function findConventional(names: readonly string[], candidates: readonly string[]): number {
  for (const c of candidates) {
    const i = names.indexOf(c);
    if (i >= 0) return i;
  }
  const lower = names.map((n) => n.toLowerCase());
  for (const c of candidates) {
    const i = lower.indexOf(c);
    if (i >= 0) return i;
  }
  return -1;
}

export function listNames(names: readonly string[], max = 20): string {
  const shown = names
    .slice(0, max)
    .map((n) => `'${n}'`)
    .join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}
