// Append-only typed arrays that double when full: the corpus tables grow package by package.

export class Growable<T extends Uint16Array | Uint32Array> {
  private data: T;
  length = 0;

  constructor(private readonly make: (n: number) => T, initial = 1024) {
    this.data = make(initial);
  }

  private reserve(extra: number): void {
    if (this.length + extra <= this.data.length) return;
    let size = this.data.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = this.make(size);
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }

  push(...values: number[]): void {
    this.reserve(values.length);
    for (const v of values) this.data[this.length++] = v;
  }

  append(values: ArrayLike<number>): void {
    this.reserve(values.length);
    this.data.set(values, this.length);
    this.length += values.length;
  }

  /** The filled part (a view: copy it before appending more if it must stay valid). */
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }

  /** Little-endian bytes of the filled part. */
  bytes(): Uint8Array {
    const v = this.view();
    const out = new Uint8Array(v.byteLength);
    const dv = new DataView(out.buffer);
    const width = v.BYTES_PER_ELEMENT;
    for (let i = 0; i < v.length; i++) {
      if (width === 2) dv.setUint16(i * 2, v[i], true);
      else dv.setUint32(i * 4, v[i], true);
    }
    return out;
  }
}

export const u16s = () => new Growable((n) => new Uint16Array(n));
export const u32s = () => new Growable((n) => new Uint32Array(n));
