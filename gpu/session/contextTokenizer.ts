// The model's own tokenizer as the packer and the prompt layout use it: text in the middle of one long sequence.
//
// A 'llama' (SentencePiece) vocabulary normally prefixes one space to the text it encodes ("dummy prefix"). The packer
// encodes each file on its own, so with that tokenizer every file would start with a space the file does not have
// (` // File: …`), and the question would too. Here the same vocabulary is loaded with add_space_prefix off (and
// add_bos_token off: the leading BOS is placed once, by the prompt layout), so each file tokenizes exactly as it does
// after the newline that ends the previous one in whole-text tokenization. Byte-level BPE ('gpt2') vocabularies add
// no prefix; for them this is the engine's tokenizer with BOS left to the caller.
import type { ContextTokenizer } from '../../extension/context/framing';
import type { GgufValue } from '../gguf/reader';
import { createTokenizer, type Tokenizer } from '../tokenizer/tokenizer';

/** The tokenizer of a GGUF's metadata, for text that follows other text: no dummy prefix, no BOS. */
export function midTextTokenizer(ggufMetadata: ReadonlyMap<string, GgufValue>): Tokenizer {
  const metadata = new Map(ggufMetadata);
  metadata.set('tokenizer.ggml.add_space_prefix', false);
  metadata.set('tokenizer.ggml.add_bos_token', false);
  return createTokenizer(metadata);
}

/**
 * The packer's view of `tokenizer`, counting the tokens it produced (for progress). Special-token texts in files
 * (`<|im_end|>`, `<s>`) stay plain text: a file cannot end a turn.
 */
export function packerTokenizer(tokenizer: Tokenizer): ContextTokenizer & { readonly tokens: number } {
  let tokens = 0;
  return {
    encode(text: string): number[] {
      const ids = tokenizer.encode(text, { addBos: false, parseSpecial: false });
      tokens += ids.length;
      return ids;
    },
    *encodeSteps(text: string, out: number[]) {
      const before = out.length;
      yield* tokenizer.encodeSteps(text, out, { addBos: false, parseSpecial: false });
      tokens += out.length - before;
    },
    tokenBytes: (id: number) => tokenizer.tokenBytes(id),
    get tokens() {
      return tokens;
    },
  };
}
