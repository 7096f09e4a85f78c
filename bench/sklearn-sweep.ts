// The settings a scikit-learn peer is swept over (bench/kmeans-e2e.ts, bench/gmm-vs-sklearn.ts):
// OpenMP threads 1/2 × OpenBLAS threads 1/2 × OMP_WAIT_POLICY unset/PASSIVE, with the OpenBLAS
// kernel auto-detected and, where the CPU has AVX-512, also SkylakeX (Debian's OpenBLAS 0.3.21
// misdetects some of these CPUs). The first entry is the out-of-the-box run: no variable set.

import { readFileSync } from "node:fs";

export interface SklearnConfig {
  label: string;
  env: Record<string, string>;
}

/** This process's environment without the thread and kernel variables the sweep sets. */
export const PEER_BASE_ENV = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(OMP_|OPENBLAS_|MKL_)/.test(k)),
) as Record<string, string>;

export function sklearnConfigs(): SklearnConfig[] {
  const avx512 = readFileSync("/proc/cpuinfo", "utf8").includes("avx512f");
  const out: SklearnConfig[] = [{ label: "out of the box", env: {} }];
  for (const omp of ["1", "2"])
    for (const blas of ["1", "2"])
      for (const wait of ["", "PASSIVE"])
        for (const core of avx512 ? ["", "SkylakeX"] : [""])
          out.push({
            label: `OMP_NUM_THREADS=${omp}, OPENBLAS_NUM_THREADS=${blas}${wait ? `, OMP_WAIT_POLICY=${wait}` : ""}${core ? `, OPENBLAS_CORETYPE=${core}` : ""}`,
            env: {
              OMP_NUM_THREADS: omp,
              OPENBLAS_NUM_THREADS: blas,
              ...(wait ? { OMP_WAIT_POLICY: wait } : {}),
              ...(core ? { OPENBLAS_CORETYPE: core } : {}),
            },
          });
  return out;
}
