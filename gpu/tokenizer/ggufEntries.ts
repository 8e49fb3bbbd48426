// Tokenizer metadata (as createTokenizer reads it) turned into typed GGUF writer entries, with the types llama.cpp's
// converter writes: token ids u32, token types i32, scores f32, strings and string arrays as such.
import type { GgufValue } from '../gguf/reader';
import { type GgufEntry, kv } from '../gguf/writer';
import { TokenizerError } from '../errors';

/** Entries for writeGguf, in the map's order. Only tokenizer.* keys are accepted. */
export function tokenizerGgufEntries(metadata: ReadonlyMap<string, GgufValue>): [string, GgufEntry][] {
  return [...metadata].map(([key, v]): [string, GgufEntry] => {
    if (!key.startsWith('tokenizer.')) throw new TokenizerError(`tokenizerGgufEntries: '${key}' is not a tokenizer.* key`);
    if (typeof v === 'string') return [key, kv.string(v)];
    if (typeof v === 'boolean') return [key, kv.bool(v)];
    if (typeof v === 'number' && key.endsWith('_id')) return [key, kv.u32(v)];
    if (v instanceof Int32Array) return [key, kv.array('i32', v)];
    if (v instanceof Float32Array) return [key, kv.array('f32', v)];
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return [key, kv.array('string', v as readonly string[])];
    throw new TokenizerError(`tokenizerGgufEntries: no GGUF type for '${key}' (${typeof v})`);
  });
}
