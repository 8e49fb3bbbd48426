// Test helper (not a test): the packer's tokenizer interface over gpt-tokenizer's p50k_base, the encoding the
// default model was trained with. tokenBytes comes from the raw rank table, so byte-fallback tokens (partial UTF-8
// characters) give their exact bytes rather than the U+FFFD that decode([id]) would.
import p50kRanks from 'gpt-tokenizer/bpeRanks/p50k_base';
import { decode, encode } from 'gpt-tokenizer/encoding/p50k_base';
import type { ContextTokenizer } from '../../extension/context/framing';

const utf8 = new TextEncoder();
const bytesById: (Uint8Array | undefined)[] = [];

function tokenBytes(id: number): Uint8Array {
  let bytes = bytesById[id];
  if (!bytes) {
    const rank = (p50kRanks as readonly (string | readonly number[])[])[id];
    if (rank === undefined) throw new RangeError(`p50k_base has no token ${id}`);
    bytes = typeof rank === 'string' ? utf8.encode(rank) : Uint8Array.from(rank);
    bytesById[id] = bytes;
  }
  return bytes;
}

/** p50k_base as a ContextTokenizer; special tokens in file text are encoded as plain text. */
export const p50kTokenizer: ContextTokenizer & { decode(ids: Iterable<number>): string } = {
  encode: (text) => encode(text, { disallowedSpecial: new Set() }),
  tokenBytes,
  decode: (ids) => decode(ids),
};
