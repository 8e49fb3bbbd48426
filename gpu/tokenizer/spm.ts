// The 'llama' tokenizer: SentencePiece-style BPE as llama.cpp runs it (llm_tokenizer_spm_session). Text is split into
// characters; adjacent pairs whose concatenation is a token are merged, highest token score first (ties: leftmost);
// characters that end up in no token fall back to <0xXX> byte tokens. No pre-tokenization: merges cross spaces.
//
// Long text is encoded in pieces (so a caller can stop between them, see encodeSteps) cut where the vocabulary says
// no merge can cross: between code points a and b such that no token's string holds "ab". A merge only ever makes a
// token's string, so no symbol ever spans such a cut; the merges on either side never meet, and each side merges in
// the same order alone as in the whole (score, then leftmost, which a shift of positions keeps). Pieces therefore
// give exactly the ids of the whole text (test/unit/tokenizerChunks.test.ts checks it down to 1-character pieces).
import { TokenizerError } from '../errors';
import { Heap } from './heap';
import type { Vocabulary } from './vocab';

interface Bigram {
  readonly left: number; // symbol index
  readonly right: number;
  readonly score: number;
  readonly size: number; // code units of left + right when queued; stale if they changed since
}

/** Code units per piece before a cut is looked for (1–8 ms of merging with stories260K, 2-core machine). */
export const PIECE_CHARS = 4096;

const before = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);
const utf8 = new TextEncoder();
const isHigh = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;

export class SpmEncoder {
  /** (256) byte -> its <0xXX> token (or the single-byte token). */
  private readonly byteTokens = new Int32Array(256);
  /** a * 0x110000 + b for each pair of code points a, b adjacent in some token's string: no cut between them. */
  private joined: Set<number> | undefined;

  /**
   * Throws TokenizerError when a byte has no token: any text would then fail to encode, long after load.
   * `pieceChars`: code units per piece before a cut is looked for (tests use small values to cut everywhere).
   */
  constructor(
    private readonly v: Vocabulary,
    private readonly pieceChars = PIECE_CHARS,
  ) {
    for (let b = 0; b < 256; b++) {
      const hex = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      const id = v.tokenToId.get(hex) ?? v.tokenToId.get(String.fromCharCode(b));
      if (id === undefined) {
        throw new TokenizerError(
          `GGUF metadata tokenizer.ggml.tokens has no byte token ${hex}: a SentencePiece ('llama') vocabulary needs all 256 ` +
            'byte tokens to spell text its pieces do not cover (the file is damaged or not a byte-fallback vocabulary)',
        );
      }
      this.byteTokens[b] = id;
    }
  }

  /** Tokens of one text fragment (already space-prefixed and with spaces written as U+2581), appended to `out`. */
  encode(text: string, out: number[]): void {
    for (const _ of this.encodeSteps(text, out));
  }

  /** As encode, one piece per step: ids of the pieces done so far are in `out` after each step. */
  *encodeSteps(text: string, out: number[]): Generator<void, void, undefined> {
    let from = 0;
    while (text.length - from > this.pieceChars) {
      const cut = this.cutFrom(text, from + this.pieceChars);
      this.encodePiece(text.slice(from, cut), out);
      from = cut;
      yield;
    }
    this.encodePiece(from === 0 ? text : text.slice(from), out);
  }

  /** The first index >= `at` where no merge can cross (text.length if there is none). */
  private cutFrom(text: string, at: number): number {
    const joined = this.joinedPairs();
    for (let q = at; q < text.length; q++) {
      const b = text.codePointAt(q) as number;
      const unit = text.charCodeAt(q);
      const prevUnit = text.charCodeAt(q - 1);
      if (unit >= 0xdc00 && unit <= 0xdfff && isHigh(prevUnit)) continue; // inside a surrogate pair
      // The code point ending at q; a lone surrogate counts as itself, as Array.from has it.
      const a = prevUnit >= 0xdc00 && prevUnit <= 0xdfff && isHigh(text.charCodeAt(q - 2)) ? (text.codePointAt(q - 2) as number) : prevUnit;
      if (!joined.has(a * 0x110000 + b)) return q;
    }
    return text.length;
  }

  /** Built on the first text longer than a piece: one pass over the vocabulary. */
  private joinedPairs(): Set<number> {
    if (!this.joined) {
      this.joined = new Set();
      // Every token, of any type: the merge loop looks pieces up in the whole vocabulary.
      for (const token of this.v.tokens) {
        const cps = Array.from(token, (c) => c.codePointAt(0) as number);
        for (let i = 1; i < cps.length; i++) this.joined.add(cps[i - 1] * 0x110000 + cps[i]);
      }
    }
    return this.joined;
  }

  private encodePiece(text: string, out: number[]): void {
    // Symbols: one per code point, a doubly linked list over [start, start + len) ranges of `text`.
    const cps = Array.from(text);
    const n = cps.length;
    if (n === 0) return;
    const start = new Int32Array(n); // (n) code-unit offset of symbol i
    const len = new Int32Array(n); //   (n) code units in symbol i; 0 once merged into its left neighbour
    const prev = new Int32Array(n); //  (n) previous live symbol or -1
    const next = new Int32Array(n); //  (n) next live symbol or -1
    for (let i = 0, at = 0; i < n; i++) {
      start[i] = at;
      len[i] = cps[i].length;
      at += len[i];
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const queue = new Heap<Bigram>(before);
    const tryAdd = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const size = len[left] + len[right];
      const id = this.v.tokenToId.get(text.slice(start[left], start[left] + size));
      if (id !== undefined) queue.push({ left, right, score: this.v.scores[id], size });
    };
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);

    for (let b = queue.pop(); b !== undefined; b = queue.pop()) {
      const { left, right } = b;
      if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== b.size) continue;
      len[left] += len[right];
      len[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      tryAdd(prev[left], left);
      tryAdd(left, next[left]);
    }

    for (let i = 0; i !== -1; i = next[i]) {
      const piece = text.slice(start[i], start[i] + len[i]);
      const id = this.v.tokenToId.get(piece);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const byte of utf8.encode(piece)) out.push(this.byteTokens[byte]);
    }
  }
}
