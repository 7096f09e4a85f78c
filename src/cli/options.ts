// Parsers for option values shared by the commands; each names the option in its error.

import { InvalidArgumentError, Option } from "commander";
import { DEFAULTS } from "../config.js";
import { DEVICES } from "../engine/device.js";
import { UsageError } from "./errors.js";

export function int(name: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got '${v}'`);
    return n;
  };
}

export function float(name: string, { min = -Infinity, max = Infinity } = {}): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}], got '${v}'`);
    return n;
  };
}

export function choice<T extends string>(name: string, values: readonly T[]): (v: string) => T {
  return (v) => {
    if (!values.includes(v as T))
      throw new InvalidArgumentError(`${name} must be one of ${values.join(", ")}, got '${v}'`);
    return v as T;
  };
}

/** --min-confidence F: a confidence threshold in [0, 1]. */
export function minConfidenceOption(help: string): Option {
  return new Option("--min-confidence <F>", help).argParser(float("--min-confidence", { min: 0, max: 1 }));
}

/** --outlier-rate R: a share of the training rows in [0, 1). */
export function outlierRateOption(help: string): Option {
  return new Option("--outlier-rate <R>", help).argParser((v) => {
    const n = float("--outlier-rate", { min: 0, max: 1 })(v);
    if (n === 1) throw new InvalidArgumentError(`--outlier-rate must be a number in [0, 1), got '${v}'`);
    return n;
  });
}

/** The library's outlier options from --min-confidence / --outlier-rate (a UsageError for both). */
export function outlierOptions(o: { minConfidence?: number; outlierRate?: number }): {
  minConfidence?: number;
  outlierRate?: number;
} {
  if (o.minConfidence !== undefined && o.outlierRate !== undefined)
    throw new UsageError("give either --min-confidence or --outlier-rate, not both");
  return {
    ...(o.minConfidence !== undefined ? { minConfidence: o.minConfidence } : {}),
    ...(o.outlierRate !== undefined ? { outlierRate: o.outlierRate } : {}),
  };
}

/** "256,32" → [256, 32]: layer sizes after the input. */
export function dims(v: string): number[] {
  const parts = v.split(",").map((s) => s.trim());
  const out = parts.map(Number);
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p)) || out.some((n) => n < 1))
    throw new InvalidArgumentError(`--dims must be comma-separated positive integers, got '${v}'`);
  return out;
}

/**
 * The full layer list for data of `inputDim` columns. `--dims` lists the layers after the input;
 * the reference implementation's full form (768,256,32) is accepted when its first entry equals the input dim.
 */
export function layerSizes(given: readonly number[], inputDim: number): number[] {
  if (given.length >= 2 && given[0] === inputDim) return [...given];
  return [inputDim, ...given];
}

/** --threads, shared by every command that computes. */
export function threadsOption(): Option {
  return new Option("--threads <n>", "compute threads (0 = one per core)")
    .argParser(int("--threads"))
    .default(DEFAULTS.threads);
}

/** --device, shared by every command that runs onnxruntime sessions. */
export function deviceOption(): Option {
  return new Option("--device <name>", `execution provider: ${DEVICES.join(", ")}`)
    .argParser(choice("--device", DEVICES))
    .default(DEFAULTS.device);
}
