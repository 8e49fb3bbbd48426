// OpenAI's p50k_base written as a GGUF 'gpt2' vocabulary (the project's default model uses it), built from the ranks
// gpt-tokenizer ships. tiktoken ranks are byte strings whose rank is also their merge priority; GGUF wants tokens in
// GPT-2's byte-level spelling plus an explicit merge list. Each token's merge is the last step of running tiktoken's
// BPE on its own bytes with only lower ranks allowed, so merge order = rank order and the 'gpt2' tokenizer reproduces
// gpt-tokenizer's ids (checked in test/unit/tokenizerP50k.test.ts). Build-time only: the engine reads the GGUF.
import bpeRanks from 'gpt-tokenizer/bpeRanks/p50k_base';
import type { GgufValue } from '../gguf/reader';
import { byteToChar } from './byteLevel';
import { TokenizerError } from '../errors';
import { TokenType } from './vocab';

/** <|endoftext|>: the only special token of p50k_base; its rank is a hole in the BPE ranks. */
export const p50kEndOfText = 50256;
const p50kVocabSize = 50281;

const utf8 = new TextEncoder();

/** The tokenizer.* GGUF metadata of p50k_base: model 'gpt2', pre 'gpt-2', 50,281 tokens, 50,024 merges. */
export function p50kTokenizerMetadata(): Map<string, GgufValue> {
  if (bpeRanks.length !== p50kVocabSize) {
    throw new TokenizerError(`p50k: gpt-tokenizer's p50k_base ranks hold ${bpeRanks.length} entries, expected ${p50kVocabSize}`);
  }
  // Byte-level spelling of every rank; ranks 0..255 are the single bytes.
  const tokens = new Array<string>(p50kVocabSize);
  const rankOf = new Map<string, number>();
  for (let r = 0; r < p50kVocabSize; r++) {
    if (r === p50kEndOfText) {
      tokens[r] = '<|endoftext|>';
      continue;
    }
    const entry = bpeRanks[r];
    const bytes = typeof entry === 'string' ? utf8.encode(entry) : Uint8Array.from(entry);
    if (r < 256 && bytes.length !== 1) throw new TokenizerError(`p50k: rank ${r} should be a single byte, is ${bytes.length} bytes`);
    tokens[r] = Array.from(bytes, (b) => byteToChar[b]).join('');
    rankOf.set(tokens[r], r);
  }
  if (new Set(tokens.slice(0, 256)).size !== 256) throw new TokenizerError('p50k: ranks 0..255 do not cover all 256 bytes');

  const merges: string[] = [];
  for (let r = 256; r < p50kVocabSize; r++) {
    if (r === p50kEndOfText) continue;
    const parts = bpeBelow(tokens[r], r, rankOf);
    if (parts.length !== 2) {
      throw new TokenizerError(`p50k: rank ${r} ('${tokens[r]}') is not reached by merging two lower ranks (got ${parts.length} parts)`);
    }
    merges.push(`${parts[0]} ${parts[1]}`);
  }

  const types = new Int32Array(p50kVocabSize).fill(TokenType.normal);
  types[p50kEndOfText] = TokenType.control;
  return new Map<string, GgufValue>([
    ['tokenizer.ggml.model', 'gpt2'],
    ['tokenizer.ggml.pre', 'gpt-2'],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.merges', merges],
    ['tokenizer.ggml.bos_token_id', p50kEndOfText],
    ['tokenizer.ggml.eos_token_id', p50kEndOfText],
    ['tokenizer.ggml.add_bos_token', false],
  ]);
}

/** tiktoken's merge loop on one byte-level string, allowing only ranks below `limit`; returns the final parts. */
function bpeBelow(token: string, limit: number, rankOf: ReadonlyMap<string, number>): string[] {
  const parts = Array.from(token);
  for (;;) {
    let best = limit;
    let at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rankOf.get(parts[i] + parts[i + 1]);
      if (r !== undefined && r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) return parts;
    parts.splice(at, 2, parts[at] + parts[at + 1]);
  }
}
