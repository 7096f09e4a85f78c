// The CPU every result file records. The project's machines all call themselves "AMD EPYC" (or
// "Intel Xeon …") in /proc/cpuinfo, yet differ by generation: an EPYC with AVX-512 (Zen 4) ran
// the same training about twice as fast as one with AVX2 only (Zen 3). So the name is followed by
// the family, model and widest vector extension, which tell them apart.

import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/** E.g. "AMD EPYC (family 25, model 1, AVX2)"; the bare model name where /proc/cpuinfo is missing. */
export function cpuName(): string {
  const name = cpus()[0]?.model?.trim() || "unknown";
  if (!existsSync("/proc/cpuinfo")) return name;
  const info = readFileSync("/proc/cpuinfo", "utf8");
  const field = (key: string) => new RegExp(`^${key}\\s*:\\s*(.*)$`, "m").exec(info)?.[1]?.trim();
  const flags = new Set((field("flags") ?? "").split(/\s+/));
  const vector = flags.has("avx512f") ? "AVX-512" : flags.has("avx2") ? "AVX2" : flags.has("avx") ? "AVX" : "no AVX";
  const family = field("cpu family");
  const model = field("model");
  const id = [family && `family ${family}`, model && `model ${model}`, vector].filter(Boolean).join(", ");
  return `${name} (${id})`;
}
