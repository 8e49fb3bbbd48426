// Reads a file front to back through one bounded buffer with positional reads: the GGUF header of a multi-GB model
// parses with about 1 MiB of buffer, and every field checks that the file still holds its bytes before reading them.
// It also keeps the host-memory budget of what the parse makes from the file's counts (charge).
import { readSync } from 'node:fs';
import type { GgufScalarType } from './format';

/** Called with a problem; throws (a GgufError naming the file). */
export type Fail = (problem: string) => never;

/**
 * Names the field being read, for a failure message. A function is called only on failure: a vocabulary's items
 * are read by the hundred thousand, and building a name for each ("item 91234 of 'tokenizer.ggml.tokens'") would
 * cost more than reading them.
 */
export type What = string | (() => string);

export function describe(what: What): string {
  return typeof what === 'string' ? what : what();
}

const CAPACITY = 1 << 20;

/**
 * Host memory the values parsed from one header may take (as the reader estimates it). The largest real headers
 * (Gemma 3's 262K tokens with scores and types, Qwen's 151K tokens and 151K merges) come to 20-30 MB; a count that a
 * multi-GB hostile file can back but this cap cannot (millions of empty array items) fails before it is allocated
 * instead of taking the engine process down, and the items it does read stay few enough to parse within a second.
 */
export const MAX_HEADER_MEMORY = 128 << 20;

export class HeaderCursor {
  /** Absolute file offset of the next field. */
  pos = 0;
  private readonly buf = Buffer.allocUnsafe(CAPACITY);
  // The file range [bufStart, bufEnd) is held in buf[0, bufEnd - bufStart).
  private bufStart = 0;
  private bufEnd = 0;
  /** Estimated bytes of host memory charged so far (see charge). */
  private charged = 0;

  constructor(
    private readonly fd: number,
    readonly fileSize: number,
    private readonly fail: Fail,
  ) {}

  /** Bytes from the cursor to the end of the file. */
  get remaining(): number {
    return this.fileSize - this.pos;
  }

  /**
   * Counts `bytes` of host memory that reading `what` is about to allocate, and fails, before anything is allocated,
   * when the header as a whole would pass MAX_HEADER_MEMORY.
   */
  charge(bytes: number, what: What): void {
    this.charged += bytes;
    if (this.charged > MAX_HEADER_MEMORY) {
      this.fail(
        `${describe(what)} would take the parsed header to ${(this.charged / 2 ** 20).toFixed(0)} MiB of host memory, over the ` +
          `reader's cap of ${MAX_HEADER_MEMORY / 2 ** 20} MiB (real models need tens of MiB): the file is corrupt or not a model`,
      );
    }
  }

  /** Fails unless `n` more bytes exist; `what` names the field for the message. */
  need(n: number, what: What): void {
    if (n > this.remaining) {
      this.fail(`truncated header: ${describe(what)} at offset ${this.pos} needs ${n} B but the file ends at ${this.fileSize}`);
    }
  }

  u8(what: What): number {
    return this.buf[this.at(1, what)];
  }
  u32(what: What): number {
    return this.buf.readUInt32LE(this.at(4, what));
  }
  u64(what: What): bigint {
    return this.buf.readBigUInt64LE(this.at(8, what));
  }

  /** A scalar of a fixed-size numeric or bool type; 64-bit integers come back as bigint. */
  scalar(type: Exclude<GgufScalarType, 'string'>, what: What): number | bigint | boolean {
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
  text(length: number, what: What): string {
    if (length <= CAPACITY) {
      const i = this.at(length, what);
      return this.buf.toString('utf8', i, i + length);
    }
    const out = Buffer.allocUnsafe(length);
    this.copyInto(out, what);
    return out.toString('utf8');
  }

  /** Fills `target` with the next target.byteLength bytes, through the buffer in pieces. */
  copyInto(target: Uint8Array, what: What): void {
    this.need(target.byteLength, what);
    for (let done = 0; done < target.byteLength; ) {
      const n = Math.min(CAPACITY, target.byteLength - done);
      const i = this.at(n, what);
      target.set(this.buf.subarray(i, i + n), done);
      done += n;
    }
  }

  /** Index in buf of `n` (≤ CAPACITY) bytes at pos, refilling the buffer if needed; advances pos. */
  private at(n: number, what: What): number {
    this.need(n, what);
    if (this.pos < this.bufStart || this.pos + n > this.bufEnd) this.refill(n, what);
    const i = this.pos - this.bufStart;
    this.pos += n;
    return i;
  }

  private refill(n: number, what: What): void {
    const want = Math.min(CAPACITY, this.fileSize - this.pos);
    let got = 0;
    while (got < want) {
      const r = readSync(this.fd, this.buf, got, want - got, this.pos + got);
      if (r === 0) break;
      got += r;
    }
    if (got < n) this.fail(`file shrank while reading ${describe(what)} at offset ${this.pos} (read ${got} of ${n} B)`);
    this.bufStart = this.pos;
    this.bufEnd = this.pos + got;
  }
}
