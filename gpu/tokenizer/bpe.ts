// The 'gpt2' tokenizer: byte-level BPE as llama.cpp runs it (llm_tokenizer_bpe_session). Text is split into words by
// the pre-tokenizer; each word's UTF-8 bytes start as single-byte tokens and the adjacent pair with the lowest merge
// rank is merged until none is left (ties: leftmost). Words repeat a lot in code, so results are cached per word.
//
// A very long word (CJK text without spaces, a run of one letter) is merged in pieces, cut between bytes a and b that
// no token holds side by side: a merge only ever makes a token, so no symbol spans such a cut, and each piece merges
// in the same order alone as in the whole (rank, then leftmost). The ids are exactly the whole word's
// (test/unit/tokenizerChunks.test.ts); a caller of encodeSteps can stop between pieces.
import { byteToChar, fromByteLevel, toByteLevel, utf8Bytes } from './byteLevel';
import { TokenizerError } from '../errors';
import { Heap } from './heap';
import { type PreTokenizer, preTokenize, preTokenizerFor } from './preTokenizers';
import type { Vocabulary } from './vocab';

// Words with more symbols than this use the heap; shorter ones a plain scan (same order: lowest rank, then leftmost).
const scanLimit = 48;
// The per-word cache is dropped when it grows past this many words.
const cacheLimit = 200_000;
// encodeSteps yields after words of this many code units (a few ms at most; cached words cost less).
const stepLimit = 4096;
/** Bytes of a word's piece before a cut is looked for; longer words are merged in pieces (not cached). */
export const PIECE_BYTES = 4096;

interface Pair {
  readonly rank: number;
  readonly left: number; // symbol index
  readonly leftId: number;
  readonly rightId: number;
}

const before = (a: Pair, b: Pair) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

export class BpeEncoder {
  readonly pre: PreTokenizer;
  /** (256) byte -> the token spelling that byte. */
  private readonly byteIds = new Int32Array(256);
  /** Pair key (leftId * vocabSize + rightId) -> merge rank. */
  private readonly ranks = new Map<number, number>();
  /** (merges) rank -> id of the merged token. */
  private readonly merged: Int32Array;
  private readonly cache = new Map<string, readonly number[]>();
  /** (256 * 256) 1 where byte a is followed by byte b inside some token: no cut between them. Built on first use. */
  private joined: Uint8Array | undefined;

  /** `pieceBytes`: bytes per piece of a long word before a cut is looked for (tests use small values). */
  constructor(
    private readonly v: Vocabulary,
    private readonly pieceBytes = PIECE_BYTES,
  ) {
    this.pre = preTokenizerFor(v.pre);
    const missing: number[] = [];
    for (let b = 0; b < 256; b++) {
      this.byteIds[b] = v.tokenToId.get(byteToChar[b]) ?? -1;
      if (this.byteIds[b] < 0) missing.push(b);
    }
    if (missing.length > 0) {
      throw new TokenizerError(
        `GGUF metadata tokenizer.ggml.tokens: a byte-level vocabulary needs one token per byte; ${missing.length} bytes have none (first: 0x${missing[0].toString(16)})`,
      );
    }
    const n = v.tokens.length;
    this.merged = new Int32Array(v.merges.length);
    v.merges.forEach((m, rank) => {
      const space = m.indexOf(' ', 1);
      if (space < 0) throw new TokenizerError(`GGUF metadata tokenizer.ggml.merges[${rank}] is '${m}': expected 'left right'`);
      const a = v.tokenToId.get(m.slice(0, space));
      const b = v.tokenToId.get(m.slice(space + 1));
      const ab = v.tokenToId.get(m.slice(0, space) + m.slice(space + 1));
      // A merge of or into a non-token cannot produce a token; HF refuses such files, llama.cpp would spell its result
      // byte by byte. Skipping it keeps ids exact for every vocabulary HF can load.
      if (a === undefined || b === undefined || ab === undefined) return;
      const key = a * n + b;
      if (!this.ranks.has(key)) this.ranks.set(key, rank); // first occurrence wins, as in llama.cpp
      this.merged[rank] = ab;
    });
  }

  /** Tokens of one text fragment (no special tokens inside), appended to `out`. */
  encode(text: string, out: number[]): void {
    for (const _ of this.encodeSteps(text, out));
  }

  /**
   * As encode, a run of words (or one piece of a long word) per step: ids so far are in `out` after each step. Words
   * are merged on their own, and long words in pieces that merge as in the whole, so steps give exactly encode's ids.
   */
  *encodeSteps(text: string, out: number[]): Generator<void, void, undefined> {
    if (this.pre.nfc) text = text.normalize('NFC');
    let stepChars = 0;
    for (const word of preTokenize(this.pre, text)) {
      if (word.length > this.pieceBytes) {
        yield* this.longWordSteps(word, out);
        continue;
      }
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.encodeWord(word);
        if (this.cache.size >= cacheLimit) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
      stepChars += word.length;
      if (stepChars >= stepLimit) {
        stepChars = 0;
        yield;
      }
    }
  }

  /** One word too long to merge in one step: its pieces, one per step. */
  private *longWordSteps(word: string, out: number[]): Generator<void, void, undefined> {
    const whole = this.wholeWord(word);
    if (whole !== undefined) {
      out.push(whole);
      return;
    }
    const bytes = utf8Bytes(word);
    const joined = this.joinedPairs();
    const n = bytes.length;
    let from = 0;
    while (from < n) {
      let cut = Math.min(n, from + this.pieceBytes);
      while (cut < n && joined[bytes[cut - 1] * 256 + bytes[cut]]) cut++;
      for (const id of this.mergeBytes(bytes, from, cut)) out.push(id);
      from = cut;
      yield;
    }
  }

  private joinedPairs(): Uint8Array {
    if (!this.joined) {
      this.joined = new Uint8Array(256 * 256);
      // Every token, of any type: a superset of what merges can make.
      for (const token of this.v.tokens) {
        const b = fromByteLevel(token);
        for (let i = 1; i < b.length; i++) this.joined[b[i - 1] * 256 + b[i]] = 1;
      }
    }
    return this.joined;
  }

  private encodeWord(word: string): readonly number[] {
    const whole = this.wholeWord(word);
    if (whole !== undefined) return [whole];
    const bytes = utf8Bytes(word);
    return this.mergeBytes(bytes, 0, bytes.length);
  }

  /** With a pre-tokenizer that ignores merges (llama-3), a word that is a token as a whole is that token. */
  private wholeWord(word: string): number | undefined {
    return this.pre.ignoreMerges ? this.v.tokenToId.get(toByteLevel(word)) : undefined;
  }

  /** bytes[from, to) as single-byte tokens, merged. */
  private mergeBytes(bytes: ArrayLike<number>, from: number, to: number): number[] {
    const ids: number[] = [];
    for (let i = from; i < to; i++) ids.push(this.byteIds[bytes[i]]);
    return ids.length <= scanLimit ? this.mergeByScan(ids) : this.mergeByHeap(ids);
  }

  private rank(a: number, b: number): number {
    return this.ranks.get(a * this.v.tokens.length + b) ?? Infinity;
  }

  private mergeByScan(ids: number[]): number[] {
    // ranks[i] = rank of the pair (ids[i], ids[i + 1]).
    const ranks: number[] = [];
    for (let i = 0; i + 1 < ids.length; i++) ranks.push(this.rank(ids[i], ids[i + 1]));
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i < ranks.length; i++) {
        if (ranks[i] < best) {
          best = ranks[i];
          at = i;
        }
      }
      if (at < 0) return ids;
      ids[at] = this.merged[best];
      ids.splice(at + 1, 1);
      ranks.splice(at, 1);
      if (at > 0) ranks[at - 1] = this.rank(ids[at - 1], ids[at]);
      if (at < ranks.length) ranks[at] = this.rank(ids[at], ids[at + 1]);
    }
  }

  private mergeByHeap(start: number[]): number[] {
    const n = start.length;
    const id = Int32Array.from(start); // (n) current token of symbol i; -1 once merged into its left neighbour
    const prev = new Int32Array(n); //    (n) previous live symbol or -1
    const next = new Int32Array(n); //    (n) next live symbol or -1
    for (let i = 0; i < n; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    const queue = new Heap<Pair>(before);
    const tryAdd = (left: number) => {
      const right = left >= 0 ? next[left] : -1;
      if (right < 0) return;
      const rank = this.rank(id[left], id[right]);
      if (rank !== Infinity) queue.push({ rank, left, leftId: id[left], rightId: id[right] });
    };
    for (let i = 0; i + 1 < n; i++) tryAdd(i);
    for (let p = queue.pop(); p !== undefined; p = queue.pop()) {
      const { left } = p;
      const right = next[left];
      // Stale when either side has changed since it was queued (tokens only grow, so ids tell).
      if (id[left] !== p.leftId || right < 0 || id[right] !== p.rightId) continue;
      id[left] = this.merged[p.rank];
      id[right] = -1;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      tryAdd(prev[left]);
      tryAdd(left);
    }
    const out: number[] = [];
    for (let i = 0; i !== -1; i = next[i]) out.push(id[i]);
    return out;
  }
}
