// The parameter store: named float32 tensors (weights, optimizer slots) that live between steps.
// Each entry owns two buffers. A step graph reads an entry through input `name` and writes its
// successor through output `nextName(name)` straight into the other buffer (a preallocated
// onnxruntime fetch); committing the step flips which buffer is current. Nothing is allocated
// or copied per step.

import { Tensor } from "./tensor.js";

export const nextName = (name: string): string => `${name}__next`;

interface Entry {
  readonly dims: readonly number[];
  readonly buffers: [Tensor<Float32Array>, Tensor<Float32Array>];
  cur: 0 | 1;
}

export class StateStore {
  private readonly entries = new Map<string, Entry>();

  define(name: string, dims: readonly number[], init?: Float32Array): void {
    if (this.entries.has(name)) throw new Error(`state '${name}' is already defined`);
    const a = Tensor.zeros(dims);
    if (init) {
      if (init.length !== a.data.length)
        throw new Error(`state '${name}': expected ${a.data.length} values, got ${init.length}`);
      a.data.set(init);
    }
    this.entries.set(name, { dims, buffers: [a, Tensor.zeros(dims)], cur: 0 });
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  dims(name: string): readonly number[] {
    return this.entry(name).dims;
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`unknown state '${name}' (have: ${this.names().join(", ") || "none"})`);
    return e;
  }

  /** The current value (a live view: copy it if you keep it across steps). */
  value(name: string): Float32Array {
    const e = this.entry(name);
    return e.buffers[e.cur].data;
  }

  tensor(name: string): Tensor<Float32Array> {
    const e = this.entry(name);
    return e.buffers[e.cur];
  }

  set(name: string, data: Float32Array): void {
    const v = this.value(name);
    if (v.length !== data.length) throw new Error(`state '${name}': expected ${v.length} values, got ${data.length}`);
    v.set(data);
  }

  /** Feeds `name` from the current buffer and, if `update`, fetches `nextName(name)` into the other. */
  bind(name: string, feeds: Record<string, Tensor>, fetches: Record<string, Tensor> | null): void {
    const e = this.entry(name);
    feeds[name] = e.buffers[e.cur];
    if (fetches) fetches[nextName(name)] = e.buffers[1 - e.cur]!;
  }

  /** Makes the buffers written by the last step current. */
  flip(names: readonly string[]): void {
    for (const n of names) {
      const e = this.entry(n);
      e.cur = e.cur === 0 ? 1 : 0;
    }
  }

  /** A plain copy of every entry (for checkpoints and tests). */
  snapshot(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const n of this.names()) out[n] = this.value(n).slice();
    return out;
  }

  bytes(): number {
    let b = 0;
    for (const e of this.entries.values()) b += 2 * e.buffers[0].data.byteLength;
    return b;
  }
}
