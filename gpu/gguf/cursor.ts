// Reads a file front to back through one bounded buffer with positional reads: the GGUF header of a multi-GB model
// parses with about 1 MiB of buffer, and every field checks that the file still holds its bytes before reading them.
import { readSync } from 'node:fs';
import type { GgufScalarType } from './format';

/** Called with a problem; throws (a GgufError naming the file). */
export type Fail = (problem: string) => never;

const CAPACITY = 1 << 20;

export class HeaderCursor {
  /** Absolute file offset of the next field. */
  pos = 0;
  private readonly buf = Buffer.allocUnsafe(CAPACITY);
  // The file range [bufStart, bufEnd) is held in buf[0, bufEnd - bufStart).
  private bufStart = 0;
  private bufEnd = 0;

  constructor(
    private readonly fd: number,
    readonly fileSize: number,
    private readonly fail: Fail,
  ) {}

  /** Bytes from the cursor to the end of the file. */
  get remaining(): number {
    return this.fileSize - this.pos;
  }

  /** Fails unless `n` more bytes exist; `what` names the field for the message. */
  need(n: number, what: string): void {
    if (n > this.remaining) {
      this.fail(`truncated header: ${what} at offset ${this.pos} needs ${n} B but the file ends at ${this.fileSize}`);
    }
  }

  u8(what: string): number {
    return this.buf[this.at(1, what)];
  }
  u32(what: string): number {
    return this.buf.readUInt32LE(this.at(4, what));
  }
  u64(what: string): bigint {
    return this.buf.readBigUInt64LE(this.at(8, what));
  }

  /** A scalar of a fixed-size numeric or bool type; 64-bit integers come back as bigint. */
  scalar(type: Exclude<GgufScalarType, 'string'>, what: string): number | bigint | boolean {
    switch (type) {
      case 'u8': return this.buf.readUInt8(this.at(1, what));
      case 'i8': return this.buf.readInt8(this.at(1, what));
      case 'u16': return this.buf.readUInt16LE(this.at(2, what));
      case 'i16': return this.buf.readInt16LE(this.at(2, what));
      case 'u32': return this.buf.readUInt32LE(this.at(4, what));
      case 'i32': return this.buf.readInt32LE(this.at(4, what));
      case 'f32': return this.buf.readFloatLE(this.at(4, what));
      case 'f64': return this.buf.readDoubleLE(this.at(8, what));
      case 'u64': return this.buf.readBigUInt64LE(this.at(8, what));
      case 'i64': return this.buf.readBigInt64LE(this.at(8, what));
      case 'bool': return this.buf[this.at(1, what)] !== 0;
    }
  }

  /** UTF-8 text of `length` bytes (the caller has checked the length against the file and its own cap). */
  text(length: number, what: string): string {
    if (length <= CAPACITY) {
      const i = this.at(length, what);
      return this.buf.toString('utf8', i, i + length);
    }
    const out = Buffer.allocUnsafe(length);
    this.copyInto(out, what);
    return out.toString('utf8');
  }

  /** Fills `target` with the next target.byteLength bytes, through the buffer in pieces. */
  copyInto(target: Uint8Array, what: string): void {
    this.need(target.byteLength, what);
    for (let done = 0; done < target.byteLength; ) {
      const n = Math.min(CAPACITY, target.byteLength - done);
      const i = this.at(n, what);
      target.set(this.buf.subarray(i, i + n), done);
      done += n;
    }
  }

  /** Index in buf of `n` (≤ CAPACITY) bytes at pos, refilling the buffer if needed; advances pos. */
  private at(n: number, what: string): number {
    this.need(n, what);
    if (this.pos < this.bufStart || this.pos + n > this.bufEnd) this.refill(n, what);
    const i = this.pos - this.bufStart;
    this.pos += n;
    return i;
  }

  private refill(n: number, what: string): void {
    const want = Math.min(CAPACITY, this.fileSize - this.pos);
    let got = 0;
    while (got < want) {
      const r = readSync(this.fd, this.buf, got, want - got, this.pos + got);
      if (r === 0) break;
      got += r;
    }
    if (got < n) this.fail(`file shrank while reading ${what} at offset ${this.pos} (read ${got} of ${n} B)`);
    this.bufStart = this.pos;
    this.bufEnd = this.pos + got;
  }
}
