// A GGUF holding only a tokenizer (no tensors), for llama.cpp to load vocabulary-only: the architecture keys llama.cpp
// reads before it looks at the vocabulary are present with token values.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GgufValue } from '../../gpu/gguf/reader';
import { kv, writeGguf } from '../../gpu/gguf/writer';
import { tokenizerGgufEntries } from '../../gpu/tokenizer/ggufEntries';

/** Writes `tokenizer` metadata into a fresh temporary GGUF and returns its path. */
export async function writeVocabGguf(name: string, tokenizer: ReadonlyMap<string, GgufValue>): Promise<string> {
  const path = join(mkdtempSync(join(tmpdir(), 'quest-lens-vocab-')), `${name}.gguf`);
  await writeGguf(path, {
    metadata: [
      ['general.architecture', kv.string('llama')],
      ['general.name', kv.string(name)],
      ['llama.context_length', kv.u32(512)],
      ['llama.embedding_length', kv.u32(64)],
      ['llama.block_count', kv.u32(1)],
      ['llama.feed_forward_length', kv.u32(128)],
      ['llama.attention.head_count', kv.u32(8)],
      ['llama.attention.head_count_kv', kv.u32(8)],
      ['llama.attention.layer_norm_rms_epsilon', kv.f32(1e-5)],
      ['llama.rope.dimension_count', kv.u32(8)],
      ...tokenizerGgufEntries(tokenizer),
    ],
    tensors: [],
  });
  return path;
}
