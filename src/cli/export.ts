// deepclust export: (re)writes a model's inference graph as a standalone ONNX file, weights baked
// in: input `embeddings` [N, d] float32 → `probabilities` [N, k], `labels` [N] int64.

import { DEFAULTS } from "../config.js";
import { Command } from "commander";
import { basename, join, resolve } from "node:path";
import { CompiledGraph } from "../engine/index.js";
import { loadModel, MODEL_FILES, modelInputFiles, replaceModelOnnx } from "../dec/model-dir.js";
import { checkOutputFile, InputError, writeFileAtomically } from "../io/index.js";
import { createProgress } from "./progress.js";
import { printJson } from "./common.js";
import { UsageError } from "./errors.js";
import { choice } from "./options.js";
import { PRECISIONS, type Precision } from "./precision.js";

interface ExportCliOptions {
  onnx?: string;
  precision: Precision;
  force: boolean;
  json: boolean;
}

export function exportCommand(): Command {
  return new Command("export")
    .description(
      "Write a trained model as a standalone ONNX file for any ONNX Runtime (Python, C#, Java, browsers, Triton)",
    )
    .argument("<model-dir>", "a model directory written by `deepclust train`")
    .option("--onnx <file>", `the ONNX file to write (default: <model-dir>/${MODEL_FILES.onnx})`)
    .option(
      "--precision <p>",
      "fp32, or int8: the encoder's matrix products in 8-bit integers (onnxruntime's com.microsoft DynamicQuantizeMatMul, so onnxruntime only; about 2× faster on CPUs with VNNI, q differs slightly)",
      choice("--precision", PRECISIONS),
      DEFAULTS.precision,
    )
    .option(
      "--force",
      `replace --onnx if it exists (not needed for a model directory's own ${MODEL_FILES.onnx}; never one of the model's other files)`,
      false,
    )
    .option("--json", "print one JSON summary on stdout and nothing else", false)
    .addHelpText(
      "after",
      `
The graph: input 'embeddings' float32 [N, d] → outputs 'probabilities' float32 [N, k] (the
Student-t soft assignment q) and 'labels' int64 [N] (argmax q). In Python:
  sess = onnxruntime.InferenceSession("model.onnx")
  probabilities, labels = sess.run(None, {"embeddings": X.astype("float32")})`,
    )
    .action(async (modelDir: string, o: ExportCliOptions) => {
      const progress = createProgress({ json: o.json });
      const file = o.onnx ?? join(modelDir, MODEL_FILES.onnx);
      // The model's own model.onnx: float32 (standard ONNX), its hashes recorded in config.json; the
      // model's other files are inputs, and any other existing file needs --force.
      const own = resolve(file) === resolve(modelDir, MODEL_FILES.onnx);
      if (own && o.precision !== "fp32")
        throw new UsageError(
          `${MODEL_FILES.onnx} of a model directory stays float32 and standard ONNX; write the ${o.precision} graph to another file, e.g. --onnx ${join(modelDir, `model.${o.precision}.onnx`)}`,
        );
      const inputs = modelInputFiles(modelDir).filter((f) => basename(f) !== MODEL_FILES.onnx);
      checkOutputFile({ path: file, flag: "--onnx" }, { inputs, force: o.force, owned: () => own });
      // Replacing model.onnx is how a stale one is repaired, so it is not checked.
      const model = loadModel(modelDir, { threads: 1, checkOnnx: !own });
      const bytes = model.toOnnx(o.precision);
      // Proof that it loads before it replaces anything.
      await (await CompiledGraph.create(bytes, { threads: 1 })).release();
      if (own) replaceModelOnnx(model, bytes);
      else writeOnnx(file, bytes);
      const summary = {
        model: resolve(modelDir),
        onnx: resolve(file),
        bytes: bytes.length,
        precision: o.precision,
        input: { name: model.config.onnx.input, dtype: "float32", shape: ["N", model.inputDim] },
        outputs: [
          { name: "probabilities", dtype: "float32", shape: ["N", model.k] },
          { name: "labels", dtype: "int64", shape: ["N"] },
        ],
      };
      if (o.json) return printJson(summary);
      progress.log(
        `wrote ${file} (${(bytes.length / 1024).toFixed(1)} KiB, ${o.precision}): embeddings [N, ${model.inputDim}] float32 → probabilities [N, ${model.k}], labels [N] int64`,
      );
    });
}

function writeOnnx(file: string, bytes: Uint8Array): void {
  try {
    writeFileAtomically(file, bytes);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      file,
      code === "ENOENT" ? "cannot write: the directory does not exist" : `cannot write (${code ?? String(e)})`,
    );
  }
}
