// .npy and IDX datasets: rows of a fixed size whose shape the header gives, read straight from the
// file in blocks (no parsing), so a chunk costs one read and the total is known up front. Values
// are checked as they are read: NaN/±Inf name the row and the dimension.

import { closeSync, openSync, read } from "node:fs";
import { promisify } from "node:util";
import type { FormatChunk, ReadChunksOptions } from "./dataset.js";
import { InputError } from "./errors.js";
import { IdxError, readIdxImagesHeader } from "./idx.js";
import { validateFinite } from "./matrix-file.js";
import { openNpy, readNpyRows, type NpyHeader } from "./npy.js";

const readAsync = promisify(read);

/** The rows of a 2-D .npy (float32/float64) or of IDX images in chunks of at most `options.chunkRows` (default: one chunk). */
export async function* readMatrixChunks(
  file: string,
  format: "npy" | "idx",
  options: ReadChunksOptions,
): AsyncGenerator<FormatChunk> {
  for (const [name, value] of [
    ["embeddingsColumn", options.embeddingsColumn],
    ["labelsColumn", options.labelsColumn],
  ] as const) {
    if (typeof value === "string")
      throw new InputError(
        file,
        `a ${format === "npy" ? ".npy" : "IDX"} file has no named columns (${name} '${value}'); give labels as a labels file`,
      );
  }
  const { fd, npy, rows: fileRows, cols, dataOffset } = openMatrix(file, format);
  let next: Promise<FormatChunk> | null = null;
  try {
    const rows = Math.min(fileRows, options.limit ?? Infinity);
    if (options.expectedDim !== undefined && cols !== options.expectedDim)
      throw new InputError(file, `${cols} dimensions, but the model expects ${options.expectedDim}`);
    if (rows === 0) throw new InputError(file, "no rows");
    const step = Math.min(options.chunkRows ?? Infinity, rows);
    // The next chunk is read (in libuv's thread pool) while the caller works on this one.
    const buffers =
      options.reuseBuffers === true ? [new Float32Array(step * cols), new Float32Array(step * cols)] : null;
    const read = async (start: number, slot: number): Promise<FormatChunk> => {
      const count = Math.min(step, rows - start);
      const X = {
        data: buffers?.[slot]!.subarray(0, count * cols) ?? new Float32Array(count * cols),
        rows: count,
        cols,
      };
      if (npy !== null) {
        await readNpyRows(fd, npy, start, count, X.data);
      } else {
        const pixels = new Uint8Array(count * cols);
        const { bytesRead } = await readAsync(fd, pixels, 0, pixels.length, dataOffset + start * cols);
        if (bytesRead !== pixels.length) throw new InputError(file, `short read at row ${start + 1}`);
        for (let i = 0; i < pixels.length; i++) X.data[i] = pixels[i]! / 255;
      }
      return {
        firstRow: start,
        X,
        labels: null,
        labelsColumn: null,
        embeddingsColumn: null,
        passthrough: {},
        totalRows: rows,
      };
    };
    next = read(0, 0);
    for (let start = 0, slot = 0; next !== null; start += step, slot ^= 1) {
      const chunk: FormatChunk = await next;
      next = start + step < rows ? read(start + step, slot ^ 1) : null;
      next?.catch(() => {}); // its error is thrown when it is awaited, not as an unhandled rejection
      if (npy !== null && options.checkFinite !== false) validateFinite(file, chunk.X, start);
      yield chunk;
    }
  } finally {
    await next?.catch(() => {}); // a read still in flight (the caller stopped early) ends before the close
    closeSync(fd);
  }
}

function openMatrix(
  file: string,
  format: "npy" | "idx",
): { fd: number; npy: NpyHeader | null; rows: number; cols: number; dataOffset: number } {
  if (format === "npy") {
    const { fd, header } = openNpy(file);
    return { fd, npy: header, rows: header.rows, cols: header.cols, dataOffset: header.dataOffset };
  }
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new InputError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const h = readIdxImagesHeader(file, fd);
    return { fd, npy: null, ...h };
  } catch (e) {
    closeSync(fd);
    throw e instanceof IdxError ? new InputError(file, e.message.replace(`${file}: `, "")) : e;
  }
}
