// The 'llama' tokenizer: SentencePiece-style BPE as llama.cpp runs it (llm_tokenizer_spm_session). Text is split into
// characters; adjacent pairs whose concatenation is a token are merged, highest token score first (ties: leftmost);
// characters that end up in no token fall back to <0xXX> byte tokens. No pre-tokenization: merges cross spaces.
import { TokenizerError } from '../errors';
import { Heap } from './heap';
import type { Vocabulary } from './vocab';

interface Bigram {
  readonly left: number; // symbol index
  readonly right: number;
  readonly score: number;
  readonly size: number; // code units of left + right when queued; stale if they changed since
}

const before = (a: Bigram, b: Bigram) => a.score > b.score || (a.score === b.score && a.left < b.left);
const utf8 = new TextEncoder();

export class SpmEncoder {
  /** (256) byte -> its <0xXX> token (or the single-byte token). */
  private readonly byteTokens = new Int32Array(256);

  /** Throws TokenizerError when a byte has no token: any text would then fail to encode, long after load. */
  constructor(private readonly v: Vocabulary) {
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
