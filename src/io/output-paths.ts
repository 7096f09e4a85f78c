// Guards on what a command may write, checked before any work starts:
//
// - an output is never one of the command's inputs (compared by real path, through symbolic
//   links, and by device + inode, which also catches hard links), whatever --force says;
// - an output directory never holds an input, and is never the working directory or above it;
// - an existing output is replaced only with --force, and an existing directory only when it is
//   recognisably deepclust's own (a model or checkpoint directory holding only the files deepclust
//   writes), so that --force cannot delete a user's directory.
//
// writeDirAtomically checks the same recognition again at the moment it replaces a directory.

import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync, type Stats } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { InputError } from "./errors.js";

/** A kind of directory deepclust writes, and how to recognise one on disk. */
export interface OwnedDirKind {
  /** "a deepclust model directory" */
  readonly description: string;
  /** Whether `dir` (which exists and is a directory) is one of these, holding nothing else. */
  recognise(dir: string): boolean;
}

/** Where a command writes, for the messages: the flag and what it names. */
export interface OutputTarget {
  /** The path given. */
  readonly path: string;
  /** The option that named it, e.g. "--out". */
  readonly flag: string;
}

export interface OutputCheckOptions {
  /** The files and directories the command reads. Missing ones are skipped (the reader reports them). */
  readonly inputs: readonly string[];
  /** Whether the user said --force. */
  readonly force: boolean;
}

/** Files a deepclust writer leaves only while it writes (`x.tmp-<pid>`, `.x.tmp-<pid>`): harmless in an owned directory. */
export function isTemporaryName(name: string): boolean {
  return /\.tmp-\d+$/.test(name);
}

/**
 * Whether `dir` holds only files named in `allowed` (and deepclust's temporary names), none of
 * them directories, and `required`.
 */
export function holdsOnly(dir: string, allowed: readonly string[], required: string): boolean {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return false;
  }
  if (!entries.includes(required)) return false;
  return entries.every(
    (name) => (allowed.includes(name) || isTemporaryName(name)) && !lstatSync(join(dir, name)).isDirectory(),
  );
}

/** The JSON object in `file`, or null when it is missing, unreadable or not an object (for recognising a directory). */
export function readJsonObject(file: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(readFileSync(file, "utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** Refuses an output file that is an input; an existing file needs --force; its directory must exist. */
export function checkOutputFile(
  target: OutputTarget,
  o: OutputCheckOptions & { owned?: (file: string) => boolean },
): void {
  const file = target.path;
  assertNotAnInput(target, o.inputs);
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InputError(file, `cannot write: the directory does not exist (${target.flag})`);
  const st = statOrNull(file);
  if (!st) return;
  if (st.isDirectory()) throw new InputError(file, `${target.flag}: is a directory, not a file`);
  if (!o.force && !(o.owned?.(file) ?? false))
    throw new InputError(
      file,
      `${target.flag}: the file already exists (use --force to replace it, or choose another ${target.flag})`,
    );
}

/**
 * Refuses an output directory that is an input, holds an input, is the working directory or above
 * it; an existing one needs --force and must be recognisably deepclust's (`kind`).
 */
export function checkOutputDir(target: OutputTarget, o: OutputCheckOptions & { kind: OwnedDirKind }): void {
  const dir = target.path;
  assertNotAnInput(target, o.inputs);
  const real = realPathOf(dir);
  const cwd = realPathOf(process.cwd());
  if (isWithin(cwd, real)) {
    throw new InputError(
      dir,
      `${target.flag}: refusing to write ${real === cwd ? "the working directory" : `a directory above the working directory`} (choose a new directory, e.g. ${target.flag} model)`,
    );
  }
  for (const input of o.inputs) {
    if (!existsSync(input)) continue;
    if (isWithin(realPathOf(input), real))
      throw new InputError(
        dir,
        `${target.flag}: the directory holds the input ${input}; choose another ${target.flag}`,
      );
  }
  const st = statOrNull(dir);
  if (!st) return; // created with its missing parents, as `mkdir -p` would
  if (!o.force)
    throw new InputError(
      dir,
      `${target.flag}: already exists (use --force to replace it, or choose another ${target.flag})`,
    );
  assertReplaceable(dir, o.kind, target.flag);
}

/** Throws unless `dir` is a directory of `kind` (what --force may replace). */
export function assertReplaceable(dir: string, kind: OwnedDirKind, flag?: string): void {
  const st = statOrNull(dir);
  const prefix = flag ? `${flag}: ` : "";
  if (st && !st.isDirectory())
    throw new InputError(
      dir,
      `${prefix}is a file; --force replaces only ${kind.description}, so remove it yourself or choose another path`,
    );
  if (st && !kind.recognise(dir)) {
    throw new InputError(
      dir,
      `${prefix}is not ${kind.description} (or holds other files); --force replaces only that, so remove or move it yourself, or choose another path`,
    );
  }
}

/** Refuses an output that is one of the inputs, by real path and by device + inode, whatever --force says. */
export function assertNotAnInput(target: OutputTarget, inputs: readonly string[]): void {
  const out = target.path;
  const outReal = realPathOf(out);
  const outStat = statOrNull(out);
  for (const input of inputs) {
    const inStat = statOrNull(input);
    if (!inStat) continue;
    const same =
      realPathOf(input) === outReal || (outStat !== null && outStat.dev === inStat.dev && outStat.ino === inStat.ino);
    if (same)
      throw new InputError(
        out,
        `${target.flag}: is the input ${input}; writing it would destroy the input (choose another ${target.flag})`,
      );
  }
}

/** Refuses two outputs of one command where one is, or lies inside, the other. */
export function assertSeparateOutputs(a: OutputTarget, b: OutputTarget): void {
  const [ra, rb] = [realPathOf(a.path), realPathOf(b.path)];
  if (isWithin(ra, rb) || isWithin(rb, ra))
    throw new InputError(
      b.path,
      `${b.flag} and ${a.flag} (${a.path}) must be separate directories, neither inside the other`,
    );
}

/** Whether `path` and `other` name the same file or directory (real paths). */
export function samePath(path: string, other: string): boolean {
  return realPathOf(path) === realPathOf(other);
}

/** Whether `inner` is `outer` or inside it (both real, absolute paths). */
function isWithin(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The real path of `path`; for a path that does not exist yet, its nearest existing ancestor's real path joined with the rest. */
function realPathOf(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realPathOf(parent), basename(abs));
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}
