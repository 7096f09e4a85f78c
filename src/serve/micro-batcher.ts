// Micro-batching: rows submitted by concurrent callers are queued and run through one call of a
// row-wise function (e.g. one onnxruntime inference), then the result rows are handed back to
// their callers. A batch is dispatched when the queue holds `maxBatch` rows, or `maxWaitMs`
// after its oldest row arrived; while `maxConcurrent` batches are running, rows keep queueing,
// so under load batches fill up by themselves. A submission larger than `maxBatch` is split
// across consecutive batches and reassembled. When a batch fails, every caller with rows in it
// gets the error (and its rows still queued are dropped).

import { DEFAULTS } from "../config.js";
import type { Matrix } from "../engine/matrix.js";

/** A row-wise function: `input.rows` rows in, the same number of rows out. */
export type BatchRunner = (input: Matrix) => Promise<Matrix>;

export interface MicroBatcherOptions {
  /** Values per input row. */
  cols: number;
  /** Most rows per call of `run` (default 256). */
  maxBatch?: number;
  /** Longest time the oldest queued row waits for more before its batch runs (default 2 ms; 0 = no waiting). */
  maxWaitMs?: number;
  /** Calls of `run` in progress at once (default 1). */
  maxConcurrent?: number;
}

export interface MicroBatcherStats {
  /** Calls of submit() with at least one row. */
  requests: number;
  rows: number;
  /** Calls of the run function. */
  batches: number;
  /** Most rows in one batch so far. */
  largestBatch: number;
  failedBatches: number;
}

interface Pending {
  readonly input: Matrix;
  /** The next row not yet in a batch. */
  next: number;
  /** Rows whose results have not arrived. */
  remaining: number;
  out: Float32Array | null;
  outCols: number;
  failed: boolean;
  resolve: (m: Matrix) => void;
  reject: (e: unknown) => void;
}

interface Segment {
  p: Pending;
  from: number;
  to: number;
}

export class MicroBatcher {
  readonly cols: number;
  readonly maxBatch: number;
  readonly maxWaitMs: number;
  readonly maxConcurrent: number;
  readonly stats: MicroBatcherStats = { requests: 0, rows: 0, batches: 0, largestBatch: 0, failedBatches: 0 };

  private queue: Pending[] = [];
  private queuedRows = 0;
  private running = 0;
  private timer: NodeJS.Timeout | null = null;
  /** The oldest queued row has waited maxWaitMs: dispatch as soon as a slot is free. */
  private due = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly run: BatchRunner,
    options: MicroBatcherOptions,
  ) {
    this.cols = options.cols;
    this.maxBatch = options.maxBatch ?? DEFAULTS.serve.maxBatch;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULTS.serve.maxWaitMs;
    this.maxConcurrent = options.maxConcurrent ?? DEFAULTS.serve.maxConcurrent;
    if (!Number.isInteger(this.cols) || this.cols < 1)
      throw new RangeError(`cols must be a positive integer, got ${this.cols}`);
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1)
      throw new RangeError(`maxBatch must be a positive integer, got ${this.maxBatch}`);
    if (!(this.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be ≥ 0, got ${this.maxWaitMs}`);
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1)
      throw new RangeError(`maxConcurrent must be a positive integer, got ${this.maxConcurrent}`);
  }

  /** Rows waiting for a batch. */
  get pendingRows(): number {
    return this.queuedRows;
  }

  /** Batches being run. */
  get inFlight(): number {
    return this.running;
  }

  /** Resolves when no rows are queued and no batch is running (at once if so now). */
  idle(): Promise<void> {
    if (this.queuedRows === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Queues the rows of `input` (rows × cols); resolves to their result rows, in order. */
  submit(input: Matrix): Promise<Matrix> {
    if (input.cols !== this.cols)
      return Promise.reject(new RangeError(`rows have ${input.cols} values, the batcher takes ${this.cols}`));
    if (input.data.length < input.rows * input.cols)
      return Promise.reject(
        new RangeError(
          `${input.rows} × ${input.cols} rows need ${input.rows * input.cols} values, got ${input.data.length}`,
        ),
      );
    if (input.rows === 0) return Promise.resolve({ data: new Float32Array(0), rows: 0, cols: 0 });
    return new Promise<Matrix>((resolve, reject) => {
      this.queue.push({ input, next: 0, remaining: input.rows, out: null, outCols: 0, failed: false, resolve, reject });
      this.queuedRows += input.rows;
      this.stats.requests++;
      this.stats.rows += input.rows;
      this.schedule();
    });
  }

  private schedule(): void {
    while (
      this.queuedRows > 0 &&
      this.running < this.maxConcurrent &&
      (this.queuedRows >= this.maxBatch || this.due || this.maxWaitMs === 0)
    )
      this.dispatch();
    if (this.queuedRows === 0) {
      this.due = false;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    } else if (!this.timer && !this.due) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.due = true;
        this.schedule();
      }, this.maxWaitMs);
    }
  }

  /** Takes up to maxBatch rows from the head of the queue and runs them. */
  private dispatch(): void {
    const segments: Segment[] = [];
    let rows = 0;
    while (rows < this.maxBatch && this.queue.length > 0) {
      const p = this.queue[0]!;
      const take = Math.min(this.maxBatch - rows, p.input.rows - p.next);
      segments.push({ p, from: p.next, to: p.next + take });
      p.next += take;
      rows += take;
      if (p.next === p.input.rows) this.queue.shift();
    }
    this.queuedRows -= rows;
    if (this.queuedRows === 0) this.due = false;

    const cols = this.cols;
    let input: Matrix;
    const only = segments[0]!;
    if (segments.length === 1) {
      // One caller's rows: a view, no copy.
      input = { data: only.p.input.data.subarray(only.from * cols, only.to * cols), rows, cols };
    } else {
      const data = new Float32Array(rows * cols);
      let at = 0;
      for (const s of segments) {
        data.set(s.p.input.data.subarray(s.from * cols, s.to * cols), at);
        at += (s.to - s.from) * cols;
      }
      input = { data, rows, cols };
    }

    this.running++;
    this.stats.batches++;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, rows);
    let result: Promise<Matrix>;
    try {
      result = this.run(input);
    } catch (e) {
      result = Promise.reject(e);
    }
    result
      .then(
        (out) => this.deliver(segments, rows, out),
        (e: unknown) => this.fail(segments, e),
      )
      .finally(() => {
        this.running--;
        this.schedule();
        if (this.running === 0 && this.queuedRows === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
  }

  private deliver(segments: Segment[], rows: number, out: Matrix): void {
    if (out.rows !== rows || out.data.length < rows * out.cols) {
      this.fail(segments, new Error(`the batch function returned ${out.rows} rows for ${rows}`));
      return;
    }
    const oc = out.cols;
    let at = 0;
    for (const { p, from, to } of segments) {
      const n = to - from;
      const part = out.data.subarray(at * oc, (at + n) * oc);
      at += n;
      if (p.failed) continue;
      if (n === p.input.rows) {
        // All of one caller's rows: its share of the output, no copy.
        p.remaining = 0;
        p.resolve({ data: part, rows: n, cols: oc });
        continue;
      }
      if (!p.out) {
        p.out = new Float32Array(p.input.rows * oc);
        p.outCols = oc;
      }
      p.out.set(part, from * oc);
      p.remaining -= n;
      if (p.remaining === 0) p.resolve({ data: p.out, rows: p.input.rows, cols: p.outCols });
    }
  }

  private fail(segments: Segment[], e: unknown): void {
    this.stats.failedBatches++;
    for (const { p } of segments) {
      if (p.failed) continue;
      p.failed = true;
      p.reject(e);
      // Rows of this caller still queued would be wasted work.
      if (p.next < p.input.rows) {
        const i = this.queue.indexOf(p);
        if (i >= 0) this.queue.splice(i, 1);
        this.queuedRows -= p.input.rows - p.next;
        p.next = p.input.rows;
      }
    }
  }
}
