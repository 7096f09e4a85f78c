// Sentence embeddings computed locally: a transformer encoder from a model folder in the Hugging
// Face layout (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx, as published
// for BERT, MiniLM, mpnet, bge or e5 models), tokenised by @huggingface/tokenizers and run by the
// project's onnxruntime. Pooling: the mean of the last hidden state over the real tokens (the
// reference implementation's), or the [CLS] token's; optionally L2-normalised. Texts are batched
// by length so that padding stays small. Nothing is ever downloaded.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { DEFAULTS } from "../config.js";
import { CompiledGraph, type SessionOptions } from "../engine/session.js";
import { Tensor } from "../engine/tensor.js";
import type { Matrix } from "../engine/matrix.js";
import { InputError } from "../io/errors.js";

export type Pooling = "mean" | "cls";
export const POOLINGS: readonly Pooling[] = ["mean", "cls"];

/** The files of a model folder, relative to it. */
export const EMBEDDING_MODEL_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"];

export interface SentenceEncoderOptions extends SessionOptions {
  pooling?: Pooling;
  /** L2-normalise every embedding (default false). */
  normalize?: boolean;
  /** Most tokens per text, special tokens included; longer texts are truncated (default: the model's limit). */
  maxLength?: number;
  /** Texts per onnxruntime call (default DEFAULTS.embed.batchSize). */
  batchSize?: number;
}

/** What a model directory records of the embedding model it was trained on. */
export interface EmbeddingModelInfo {
  name: string;
  /** SHA-256 of onnx/model.onnx, hex. */
  sha256: string;
  dim: number;
  pooling: Pooling;
  normalize: boolean;
  maxLength: number;
}

export class SentenceEncoder {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly session: CompiledGraph,
    readonly info: EmbeddingModelInfo,
    private readonly batchSize: number,
    private readonly padId: number,
  ) {}

  /** Loads a model folder; a missing or unreadable file is an InputError listing what is expected. */
  static async load(dir: string, options: SentenceEncoderOptions = {}): Promise<SentenceEncoder> {
    const missing = EMBEDDING_MODEL_FILES.filter((f) => !existsSync(join(dir, f)));
    if (missing.length)
      throw new InputError(
        dir,
        `not an embedding model folder: ${missing.join(", ")} missing. deepclust reads the Hugging Face layout (${EMBEDDING_MODEL_FILES.join(", ")}) and never downloads: fetch one with git lfs (e.g. git clone https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2, whose onnx/model.onnx is published), or export one with optimum-cli export onnx --model <name> <dir> and move model.onnx into onnx/`,
      );
    const json = (name: string) => {
      try {
        return JSON.parse(readFileSync(join(dir, name), "utf8")) as Record<string, unknown>;
      } catch (e) {
        throw new InputError(join(dir, name), `not valid JSON (${(e as Error).message})`);
      }
    };
    const config = json("config.json");
    const tokenizerJson = json("tokenizer.json");
    const tokenizerConfig = json("tokenizer_config.json");
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new InputError(join(dir, "tokenizer.json"), `not a tokenizer this version reads (${(e as Error).message})`);
    }
    const bytes = readFileSync(join(dir, "onnx", "model.onnx"));
    let session: CompiledGraph;
    try {
      session = await CompiledGraph.create(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), options);
    } catch (e) {
      throw new InputError(join(dir, "onnx", "model.onnx"), `onnxruntime cannot load it (${(e as Error).message})`);
    }
    if (!session.inputNames.includes("input_ids") || !session.inputNames.includes("attention_mask"))
      throw new InputError(
        join(dir, "onnx", "model.onnx"),
        `expected inputs input_ids and attention_mask, the model has ${session.inputNames.join(", ")}`,
      );
    const dim = Number(config.hidden_size ?? config.d_model ?? config.dim);
    if (!(Number.isInteger(dim) && dim > 0))
      throw new InputError(join(dir, "config.json"), "no hidden_size (the embedding dimension)");
    const positions = Number(config.max_position_embeddings);
    const declared = Number(tokenizerConfig.model_max_length);
    const limit = Math.min(
      Number.isInteger(declared) && declared > 0 && declared < 1e6 ? declared : Infinity,
      Number.isInteger(positions) && positions > 0 ? positions : Infinity,
    );
    const maxLength = options.maxLength ?? (Number.isFinite(limit) ? limit : DEFAULTS.embed.maxLength);
    if (!(Number.isInteger(maxLength) && maxLength >= 2))
      throw new RangeError(`maxLength must be an integer ≥ 2, got ${maxLength}`);
    const padToken = typeof tokenizerConfig.pad_token === "string" ? tokenizerConfig.pad_token : "[PAD]";
    const info: EmbeddingModelInfo = {
      name: typeof config._name_or_path === "string" && config._name_or_path ? config._name_or_path : basename(dir),
      sha256: createHash("sha256").update(bytes).digest("hex"),
      dim,
      pooling: options.pooling ?? DEFAULTS.embed.pooling,
      normalize: options.normalize ?? DEFAULTS.embed.normalize,
      maxLength,
    };
    const padId = tokenizer.token_to_id(padToken) ?? 0;
    return new SentenceEncoder(tokenizer, session, info, options.batchSize ?? DEFAULTS.embed.batchSize, padId);
  }

  get dim(): number {
    return this.info.dim;
  }

  /** The token ids of a text, special tokens included, truncated to maxLength (keeping the final special token). */
  tokenize(text: string): number[] {
    const ids = this.tokenizer.encode(text).ids;
    const max = this.info.maxLength;
    return ids.length <= max ? ids : [...ids.slice(0, max - 1), ids.at(-1)!];
  }

  /** Embeddings of `texts` (rows in their order, float32), batched by length. */
  async embed(texts: readonly string[]): Promise<Matrix> {
    const ids = texts.map((t) => this.tokenize(t));
    const order = ids.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length || a - b);
    const out = new Float32Array(texts.length * this.dim);
    for (let from = 0; from < order.length; from += this.batchSize) {
      const batch = order.slice(from, from + this.batchSize);
      const pooled = await this.runBatch(batch.map((i) => ids[i]!));
      batch.forEach((row, b) => out.set(pooled.subarray(b * this.dim, (b + 1) * this.dim), row * this.dim));
    }
    return { data: out, rows: texts.length, cols: this.dim };
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /** One padded batch through the model, pooled (batch × dim). */
  private async runBatch(batch: number[][]): Promise<Float32Array> {
    const b = batch.length;
    const n = Math.max(...batch.map((x) => x.length));
    const inputIds = new BigInt64Array(b * n).fill(BigInt(this.padId));
    const mask = new BigInt64Array(b * n);
    batch.forEach((x, r) =>
      x.forEach((id, j) => {
        inputIds[r * n + j] = BigInt(id);
        mask[r * n + j] = 1n;
      }),
    );
    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor(inputIds, [b, n]),
      attention_mask: new Tensor(mask, [b, n]),
    };
    if (this.session.inputNames.includes("token_type_ids"))
      feeds.token_type_ids = new Tensor(new BigInt64Array(b * n), [b, n]);
    const output = this.session.outputNames.includes("last_hidden_state")
      ? "last_hidden_state"
      : this.session.outputNames[0]!;
    const hidden = (await this.session.run(feeds, {}, [output]))[output] as Float32Array;
    const d = this.dim;
    if (hidden.length !== b * n * d)
      throw new InputError(
        this.info.name,
        `the model's ${output} has ${hidden.length} values, ${b} × ${n} × ${d} expected`,
      );
    return pool(hidden, batch, n, d, this.info.pooling, this.info.normalize);
  }
}

/** Mean over each row's real tokens (accumulated in float64), or its first token; then optionally L2-normalised. */
function pool(hidden: Float32Array, batch: number[][], n: number, d: number, pooling: Pooling, normalize: boolean) {
  const out = new Float32Array(batch.length * d);
  const acc = new Float64Array(d);
  batch.forEach((x, r) => {
    const base = r * n * d;
    if (pooling === "cls") for (let j = 0; j < d; j++) acc[j] = hidden[base + j]!;
    else {
      acc.fill(0);
      for (let t = 0; t < x.length; t++) for (let j = 0; j < d; j++) acc[j]! += hidden[base + t * d + j]!;
      for (let j = 0; j < d; j++) acc[j]! /= x.length;
    }
    let norm = 1;
    if (normalize) {
      let s = 0;
      for (let j = 0; j < d; j++) s += acc[j]! * acc[j]!;
      norm = Math.max(Math.sqrt(s), 1e-12);
    }
    for (let j = 0; j < d; j++) out[r * d + j] = acc[j]! / norm;
  });
  return out;
}
