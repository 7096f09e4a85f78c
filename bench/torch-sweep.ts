// PyTorch's real knobs, swept by every benchmark that measures it as a peer (issue 15): torch
// intra-op threads 1/2 × OpenBLAS threads 1/2 × OMP_WAIT_POLICY unset/PASSIVE × the OpenBLAS kernel
// auto-detected or the CPU's own, plus its out-of-the-box run (no variables, no thread calls).
// The peer is the configuration with the best median; the out-of-the-box one is reported beside it.

import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { cpuName } from "./cpu.js";

/** The OpenBLAS kernel that matches this CPU, when auto-detection might pick another. */
export const nativeCore: string | null = (() => {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  return /\bavx512f\b/.test(info) ? "SkylakeX" : /\bavx2\b/.test(info) ? "Haswell" : null;
})();

/** The environment without any thread or BLAS variable: what a user's shell usually has. */
export const BASE_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(OMP_|OPENBLAS_|MKL_|GOTO)/.test(k)),
) as Record<string, string>;

export interface PeerConfig {
  engine: "pytorch" | "deepclust";
  label: string;
  /** torch intra-op threads (0: torch's default), or deepclust's threads. */
  threads: number;
  /** OpenBLAS threads (0: OpenBLAS's default); PyTorch only. */
  blasThreads?: number;
  env: Record<string, string>;
}

export const OUT_OF_THE_BOX = "pytorch out of the box";

/** Every PyTorch configuration of the sweep, then deepclust at 1 and 2 threads. */
export function sweepConfigs(): PeerConfig[] {
  const out: PeerConfig[] = [{ engine: "pytorch", label: OUT_OF_THE_BOX, threads: 0, blasThreads: 0, env: {} }];
  for (const threads of [1, 2])
    for (const blasThreads of [1, 2])
      for (const wait of ["", "PASSIVE"])
        for (const core of nativeCore ? ["", nativeCore] : [""])
          out.push({
            engine: "pytorch",
            label: `pytorch torch ${threads}T, OpenBLAS ${blasThreads}T${wait ? `, OMP_WAIT_POLICY=${wait}` : ""}${core ? `, OPENBLAS_CORETYPE=${core}` : ""}`,
            threads,
            blasThreads,
            env: { ...(wait ? { OMP_WAIT_POLICY: wait } : {}), ...(core ? { OPENBLAS_CORETYPE: core } : {}) },
          });
  for (const threads of [1, 2]) out.push({ engine: "deepclust", label: `deepclust ${threads}T`, threads, env: {} });
  return out;
}

export const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;

/**
 * The comparison both throughput benchmarks record: the best median of each engine by `rate`
 * (higher is faster), PyTorch out of the box, and the ratio of deepclust's best to PyTorch's.
 */
export function compareBest<M extends { engine: string; label: string }>(medians: M[], rate: (m: M) => number) {
  const best = (engine: string) =>
    medians.filter((m) => m.engine === engine).reduce((x, y) => (rate(y) > rate(x) ? y : x));
  const deepclustBest = best("deepclust");
  const pytorchBest = best("pytorch");
  const pytorchOutOfTheBox = medians.find((m) => m.label === OUT_OF_THE_BOX)!;
  return { deepclustBest, pytorchBest, pytorchOutOfTheBox, ratio: rate(deepclustBest) / rate(pytorchBest) };
}

/** The machine a result was measured on, as every result line records it. */
export function machine() {
  return {
    cpu: cpuName(),
    cores: cpus().length,
    node: process.version,
    date: new Date().toISOString(),
  };
}
