// The stacked autoencoder: encoder d→h1→…→code with ReLU between layers and a linear code,
// decoder mirrored with a linear output. Parameter names follow the reference implementation's PyTorch modules
// (encoder.0, encoder.2, …; decoder.0, …) so weights load into PyTorch with load_state_dict.

import { DEFAULTS } from "../config.js";
import {
  CompiledGraph,
  Graph,
  Rng,
  StateStore,
  Tensor,
  chunksOf,
  isMatrix,
  type Matrix,
  type Rows,
  type SessionOptions,
} from "../engine/index.js";
import {
  BuildContext,
  Dense,
  L2Normalize,
  ReLU,
  Sequential,
  paramInputs,
  type InitName,
  type Layer,
  type Param,
} from "../nn/index.js";

export interface AutoencoderConfig {
  /** Layer sizes including the input, e.g. [768, 256, 32] or the paper's [784, 500, 500, 2000, 10]. */
  dims: readonly number[];
  /** Weight initialisation (default "torch": PyTorch's nn.Linear). */
  init?: InitName;
  /** L2-normalise the code before the decoder during autoencoder training (the reference implementation's quirk; off). */
  normalizeCode?: boolean;
}

export class Autoencoder {
  readonly dims: readonly number[];
  readonly init: InitName;
  readonly normalizeCode: boolean;
  /** encoder Dense layers, input side first. */
  readonly encoderLayers: readonly Dense[];
  /** decoder Dense layers, code side first. */
  readonly decoderLayers: readonly Dense[];
  /** The weights, by state_dict name. */
  readonly params = new StateStore();
  private encodeGraph: Promise<CompiledGraph> | undefined;

  constructor(
    config: AutoencoderConfig,
    rng: Rng,
    readonly session: SessionOptions = {},
  ) {
    const dims = [...config.dims];
    if (dims.length < 2 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new RangeError(`dims must be ≥ 2 positive integers (input first), got [${dims.join(", ")}]`);
    }
    this.dims = dims;
    this.init = config.init ?? DEFAULTS.weightInit;
    this.normalizeCode = config.normalizeCode ?? DEFAULTS.normalizeCode;
    const L = dims.length - 1;
    this.encoderLayers = Array.from(
      { length: L },
      (_, i) => new Dense(`encoder.${2 * i}`, dims[i]!, dims[i + 1]!, "encoder", this.init),
    );
    this.decoderLayers = Array.from(
      { length: L },
      (_, j) => new Dense(`decoder.${2 * j}`, dims[L - j]!, dims[L - j - 1]!, "decoder", this.init),
    );
    // Initialise in PyTorch module order, each weight then its bias.
    for (const l of [...this.encoderLayers, ...this.decoderLayers]) {
      for (const p of l.params)
        this.params.define(
          p.name,
          p.shape,
          p.init(
            rng,
            p.shape.reduce((a, b) => a * b, 1),
            l.inFeatures,
            l.outFeatures,
          ),
        );
    }
  }

  get inputDim(): number {
    return this.dims[0]!;
  }
  get codeDim(): number {
    return this.dims.at(-1)!;
  }
  get encoderParams(): Param[] {
    return this.encoderLayers.flatMap((l) => [...l.params]);
  }
  get decoderParams(): Param[] {
    return this.decoderLayers.flatMap((l) => [...l.params]);
  }
  get allParams(): Param[] {
    return [...this.encoderParams, ...this.decoderParams];
  }

  /** Encoder layers 0..upTo-1 as one stack (ReLU after each but the code layer). */
  encoder(upTo = this.encoderLayers.length): Sequential {
    const L = this.encoderLayers.length;
    const layers: Layer[] = [];
    for (let i = 0; i < upTo; i++) {
      layers.push(this.encoderLayers[i]!);
      if (i < L - 1) layers.push(new ReLU());
    }
    return new Sequential(layers);
  }

  /** The mirrored decoder (ReLU after each layer but the output layer). */
  decoder(): Sequential {
    const L = this.decoderLayers.length;
    const layers: Layer[] = [];
    this.decoderLayers.forEach((d, j) => {
      layers.push(d);
      if (j < L - 1) layers.push(new ReLU());
    });
    return new Sequential(layers);
  }

  /** Encoder then decoder, with the optional code normalisation in between. */
  autoencoder(): Sequential {
    const mid: Layer[] = this.normalizeCode ? [new L2Normalize()] : [];
    return new Sequential([this.encoder(), ...mid, this.decoder()]);
  }

  /** The code of every row of X (encoder only, never normalised), in batches; a RowSource is read a chunk at a time. */
  async encode(X: Rows, batchSize = 1024): Promise<Matrix> {
    return this.runBatched(X, this.dims.length - 1, batchSize);
  }

  /** Output of the first `layers` encoder layers (with their ReLUs), in batches. */
  async encodeTo(X: Rows, layers: number, batchSize = 1024): Promise<Matrix> {
    return this.runBatched(X, layers, batchSize);
  }

  private compiledEncoder(layers: number): Promise<CompiledGraph> {
    const build = () => {
      const g = new Graph(`encoder_${layers}`);
      const enc = this.encoder(layers);
      const ctx = new BuildContext(g, paramInputs(g, enc.params));
      const x = g.input("x", "float32", ["batch", this.inputDim]);
      g.output(enc.forward(ctx, x).y, "code");
      return CompiledGraph.create(g, this.session);
    };
    if (layers !== this.dims.length - 1) return build();
    this.encodeGraph ??= build();
    return this.encodeGraph;
  }

  private async runBatched(X: Rows, layers: number, batchSize: number): Promise<Matrix> {
    if (X.cols !== this.inputDim)
      throw new RangeError(`data has ${X.cols} columns, the autoencoder expects ${this.inputDim}`);
    const graph = await this.compiledEncoder(layers);
    const feeds = this.feedsFor(this.encoderLayers.slice(0, layers).flatMap((l) => l.params));
    const width = this.dims[layers]!;
    let out: Matrix;
    if (isMatrix(X)) out = await graph.runRows(X, "x", "code", width, feeds, batchSize);
    else {
      out = { data: new Float32Array(X.rows * width), rows: X.rows, cols: width };
      for (const { start, m } of chunksOf(X))
        out.data.set((await graph.runRows(m, "x", "code", width, feeds, batchSize)).data, start * width);
    }
    if (layers !== this.dims.length - 1) await graph.release();
    return out;
  }

  /** The current weights of `params` as graph feeds. */
  feedsFor(params: readonly Param[]): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    for (const p of params) feeds[p.name] = this.params.tensor(p.name);
    return feeds;
  }
}
