// Execution providers: CPU is bundled with onnxruntime-node; CUDA needs the provider libraries that
// onnxruntime-node's install script fetches only when the user opts in (see docs/gpu.md).

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import ort from "onnxruntime-node";

export type Device = "cpu" | "cuda";
export const DEVICES: readonly Device[] = ["cpu", "cuda"];

export class DeviceUnavailableError extends Error {}

function cudaProviderPresent(): boolean {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve("onnxruntime-node/package.json"));
  const binDir = join(pkgDir, "bin", `napi-v6`, process.platform, process.arch);
  const candidates = [
    binDir,
    ...["napi-v3", "napi-v4", "napi-v5"].map((v) => join(pkgDir, "bin", v, process.platform, process.arch)),
  ];
  return candidates.some((d) => existsSync(join(d, "libonnxruntime_providers_cuda.so")));
}

/** The onnxruntime execution-provider list for `device`, or a clear error saying how to enable it. */
export function executionProviders(device: Device): string[] {
  if (device === "cpu") return ["cpu"];
  if (device === "cuda") {
    const listed = ort.listSupportedBackends().some((b) => b.name === "cuda");
    if (!listed || process.platform !== "linux" || !cudaProviderPresent()) {
      throw new DeviceUnavailableError(
        "device 'cuda' is not available: onnxruntime-node's CUDA provider libraries are not installed. " +
          "deepclust installs CPU-only (package.json's allowScripts denies onnxruntime-node's download script). On a Linux x64 machine " +
          "with CUDA 12 and cuDNN 9, run: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js — or use --device cpu.",
      );
    }
    return ["cuda", "cpu"];
  }
  throw new DeviceUnavailableError(`unknown device '${String(device)}' (expected one of: ${DEVICES.join(", ")})`);
}
