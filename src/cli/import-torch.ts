// deepclust import-torch: turns the state_dict of the reference PyTorch DEC module (torch.save'd)
// into a model directory that predict, evaluate, export and the library's loadModel read.

import { DEFAULTS } from "../config.js";
import { Command } from "commander";
import { resolve } from "node:path";
import { CENTERS } from "../nn/index.js";
import { importTorchStateDict } from "../dec/torch-import.js";
import { DEFAULT_TORCH_LIMITS } from "../io/torch-pickle.js";
import { MODEL_DIR, MODEL_FILES, writeModelDir } from "../dec/model-dir.js";
import { checkOutputDir } from "../io/index.js";
import { float } from "./options.js";
import { createProgress } from "./progress.js";
import { printJson } from "./common.js";

interface ImportTorchCliOptions {
  out: string;
  alpha: number;
  maxTensorMib: number;
  maxImportMib: number;
  force: boolean;
  json: boolean;
}

const MiB = 2 ** 20;

export function importTorchCommand(): Command {
  return new Command("import-torch")
    .description("Convert a PyTorch DEC state_dict (torch.save) into a deepclust model directory")
    .argument(
      "<state_dict.pth>",
      "a file written by torch.save(model.state_dict(), path) from the reference DEC module",
    )
    .requiredOption("--out <dir>", `model directory to write (${Object.values(MODEL_FILES).join(", ")}) (required)`)
    .option(
      "--alpha <f>",
      "Student-t degrees of freedom of the soft assignment (not stored in a state_dict)",
      float("--alpha", { min: Number.MIN_VALUE }),
      DEFAULTS.clustering.alpha,
    )
    .option(
      "--max-tensor-mib <n>",
      "refuse a tensor larger than this, in MiB (as float32, or its storage if larger)",
      float("--max-tensor-mib", { min: Number.MIN_VALUE }),
      DEFAULT_TORCH_LIMITS.maxTensorBytes / MiB,
    )
    .option(
      "--max-import-mib <n>",
      "refuse a file whose tensors, or the model built from them, take more than this, in MiB",
      float("--max-import-mib", { min: Number.MIN_VALUE }),
      DEFAULT_TORCH_LIMITS.maxImportBytes / MiB,
    )
    .option(
      "--force",
      "replace --out if it exists and is a deepclust model directory (never an input, nor a directory holding one)",
      false,
    )
    .option("--json", "print one JSON summary on stdout and nothing else", false)
    .addHelpText(
      "after",
      `
Expected tensors (PyTorch names and layouts): encoder.0.weight [h1, d], encoder.0.bias [h1],
encoder.2.weight [h2, h1], … (Linear layers with a ReLU between them, the last one linear),
${CENTERS} [k, code], and optionally the mirrored decoder.* layers. The
layer sizes and k are read from the shapes; any other tensor is an error. float32 and float64
tensors are read (float64 is rounded to float32). Without decoder tensors the model predicts,
evaluates and exports as usual; config.json records "decoder": false and no decoder is invented.

The file is read by a restricted unpickler that executes nothing: a pickle that refers to any
other Python global than a state_dict needs (e.g. a whole pickled module, or os.system) is
rejected with exit code 2. Save the state_dict, not the module:
  torch.save(model.state_dict(), "dec.pth")

Sizes are checked on the pickle's shapes before any data is read: a tensor over --max-tensor-mib
(e.g. a stride-0 view that would expand to 10 GB) or a model over --max-import-mib is refused
with exit code 2. Only the zip entries that tensors use are read; each must declare the size its
tensor needs, is inflated no further than that, and must match its CRC-32.

Example:
  deepclust import-torch dec.pth --out model
  deepclust predict model test.csv --out predictions.csv`,
    )
    .action(async (file: string, o: ImportTorchCliOptions) => importTorch(file, o));
}

async function importTorch(file: string, o: ImportTorchCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  const out = o.out.replace(/(.)[/\\]+$/, "$1");
  checkOutputDir({ path: out, flag: "--out" }, { inputs: [file], force: o.force, kind: MODEL_DIR });
  const {
    autoencoder: ae,
    config,
    hasDecoder,
    tensors,
  } = importTorchStateDict(file, {
    alpha: o.alpha,
    maxTensorBytes: Math.max(1, Math.floor(o.maxTensorMib * MiB)),
    maxImportBytes: Math.max(1, Math.floor(o.maxImportMib * MiB)),
    session: { threads: 1 },
  });
  writeModelDir(out, ae, config, { importedFrom: config.training, tensors }, o.force);
  const summary = {
    model: resolve(out),
    source: resolve(file),
    dims: config.dims,
    k: config.k,
    alpha: config.alpha,
    decoder: hasDecoder,
    tensors: Object.keys(tensors).length,
  };
  if (o.json) return printJson(summary);
  progress.log(
    `read ${Object.keys(tensors).length} tensors from ${file}: encoder ${config.dims.join("→")}, k = ${config.k}, alpha = ${config.alpha}`,
  );
  if (!hasDecoder)
    progress.log(
      'no decoder.* tensors: the model predicts and exports as usual; it has no decoder (config.json: "decoder": false)',
    );
  progress.log(`wrote ${out}/ (${Object.values(MODEL_FILES).join(", ")})`);
}
