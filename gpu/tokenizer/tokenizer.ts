// The model's own tokenizer, built from a GGUF file's tokenizer.* metadata. Token ids equal llama.cpp's for the same
// file (see test/unit/tokenizer*.test.ts); decoding is exact (no clean-up of spaces around punctuation).
import { BpeEncoder } from './bpe';
import { fromByteLevel } from './byteLevel';
import { TokenizerError } from '../errors';
import type { GgufValue } from '../gguf/reader';
import { type Fragment, type SpecialMatcher, buildSpecialMatcher, partitionSpecial } from './specialTokens';
import { SpmEncoder } from './spm';
import { type TokenizerModel, TokenType, type Vocabulary, readVocabulary } from './vocab';

export type { Fragment } from './specialTokens';

export interface EncodeOptions {
  /** Prepend the BOS token (default false). `Tokenizer.addBos` says whether the model expects one. */
  readonly addBos?: boolean;
  /**
   * Match control tokens written in the text (`<|im_start|>`, `<s>` …) as single tokens (default false: they are
   * tokenized as plain text). User-defined tokens are always matched, as in llama.cpp and HF tokenizers.
   */
  readonly parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Render control and unknown tokens as their text (default false: they render as nothing). */
  readonly special?: boolean;
}

export interface Tokenizer {
  /** 'llama' (SentencePiece BPE with scores) or 'gpt2' (byte-level BPE with merges). */
  readonly model: TokenizerModel;
  /** tokenizer.ggml.pre ('' for 'llama'). */
  readonly pre: string;
  /** Number of tokens in the vocabulary (embedding tables may have more rows). */
  readonly vocabSize: number;
  /** BOS / EOS ids, -1 when the model has none. */
  readonly bos: number;
  readonly eos: number;
  /** Whether prompts should start with BOS (tokenizer.ggml.add_bos_token or the model's default). */
  readonly addBos: boolean;
  /** 'llama' models: one space is prefixed to text at the start and after each matched special token. */
  readonly addSpacePrefix: boolean;
  /** Ids that end generation: EOS plus end-of-turn tokens such as <|im_end|>, <|eot_id|>, <|endoftext|>. */
  readonly eogIds: ReadonlySet<number>;
  /** tokenizer.chat_template, if the file has one. */
  readonly chatTemplate: string | undefined;

  /** Token ids of `text`. A 'llama' tokenizer prefixes one space (U+2581) to the text, as llama.cpp does. */
  encode(text: string, options?: EncodeOptions): number[];
  /** `text` split around special tokens: raw text fragments and matched ids (encode's first step). */
  splitSpecial(text: string, parseSpecial: boolean): Fragment[];
  /** Ids of fragments: numbers pass through, strings are tokenized as text (encode's second step). */
  encodeFragments(fragments: readonly Fragment[], options?: Pick<EncodeOptions, 'addBos'>): number[];
  /**
   * `encode` in steps of a few milliseconds, for callers that must stay responsive on a megabyte of text (a cancel
   * waits for one step, not the whole text): after each step `out` holds the ids so far; once the generator is done
   * `out` holds exactly encode(text, options).
   */
  encodeSteps(text: string, out: number[], options?: EncodeOptions): Generator<void, void, undefined>;
  /** The text of `ids`: the inverse of `encode` (the space a 'llama' tokenizer prefixed is removed again). */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /**
   * The exact bytes a token stands for in text: U+2581 as space, <0xXX> as that byte, byte-level spellings undone,
   * control and added tokens as their literal text. The first token of a 'llama' encoding includes the prefixed space.
   */
  tokenBytes(id: number): Uint8Array;
  /** What the token adds to decoded text: `tokenBytes`, or nothing for control/unknown/unused tokens unless `special`. */
  pieceBytes(id: number, options?: DecodeOptions): Uint8Array;
  /** The token's string as stored in the vocabulary. */
  tokenText(id: number): string;
  /** The id whose vocabulary string is exactly `text`, or -1. */
  tokenId(text: string): number;
  /** Control tokens (BOS, EOS, <|im_start|> …): never produced from plain text unless parseSpecial. */
  isControl(id: number): boolean;
  /** Whether generation ends at this token. */
  isEog(id: number): boolean;
}

/** Builds the tokenizer a GGUF file describes. Throws TokenizerError naming the metadata key that is wrong. */
export function createTokenizer(metadata: ReadonlyMap<string, GgufValue>): Tokenizer {
  return new GgufTokenizer(readVocabulary(metadata));
}

const empty = new Uint8Array(0);
const utf8 = new TextEncoder();

class GgufTokenizer implements Tokenizer {
  readonly model: TokenizerModel;
  readonly pre: string;
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  readonly addBos: boolean;
  readonly addSpacePrefix: boolean;
  readonly eogIds: ReadonlySet<number>;
  readonly chatTemplate: string | undefined;
  private readonly specials: SpecialMatcher;
  private readonly spm: SpmEncoder | undefined;
  private readonly bpe: BpeEncoder | undefined;
  private readonly bytes: (Uint8Array | undefined)[] = [];

  constructor(private readonly v: Vocabulary) {
    this.model = v.model;
    this.pre = v.pre;
    this.vocabSize = v.tokens.length;
    this.bos = v.bos;
    this.eos = v.eos;
    this.addBos = v.addBos;
    this.addSpacePrefix = v.model === 'llama' && v.addSpacePrefix;
    this.eogIds = v.eogIds;
    this.chatTemplate = v.chatTemplate;
    this.specials = buildSpecialMatcher(v);
    if (v.model === 'llama') this.spm = new SpmEncoder(v);
    else this.bpe = new BpeEncoder(v);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeFragments(this.splitSpecial(text, options.parseSpecial ?? false), options);
  }

  *encodeSteps(text: string, out: number[], options: EncodeOptions = {}): Generator<void, void, undefined> {
    yield* this.fragmentSteps(this.splitSpecial(text, options.parseSpecial ?? false), out, options);
  }

  splitSpecial(text: string, parseSpecial: boolean): Fragment[] {
    return partitionSpecial(text, parseSpecial ? this.specials.withControl : this.specials.always);
  }

  encodeFragments(fragments: readonly Fragment[], options: Pick<EncodeOptions, 'addBos'> = {}): number[] {
    const out: number[] = [];
    for (const _ of this.fragmentSteps(fragments, out, options));
    return out;
  }

  private *fragmentSteps(fragments: readonly Fragment[], out: number[], options: Pick<EncodeOptions, 'addBos'>): Generator<void, void, undefined> {
    if (options.addBos) {
      if (this.bos < 0) throw new TokenizerError('tokenizer: encode was asked to add BOS, but this model has no BOS token');
      out.push(this.bos);
    }
    // llama.cpp prefixes the space to text at the start and after every matched special token.
    let afterSpecial = true;
    for (const f of fragments) {
      if (typeof f === 'number') {
        out.push(f);
        afterSpecial = true;
        continue;
      }
      if (this.spm) {
        const prefixed = this.addSpacePrefix && afterSpecial ? ' ' + f : f;
        yield* this.spm.encodeSteps(prefixed.replaceAll(' ', '\u2581'), out);
      } else {
        yield* (this.bpe as BpeEncoder).encodeSteps(f, out);
      }
      afterSpecial = false;
    }
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    let afterSpecial = true;
    for (const id of ids) {
      const piece = this.pieceBytes(id, options);
      const t = this.v.types[id];
      if (t === TokenType.control || t === TokenType.unknown || t === TokenType.userDefined) {
        parts.push(piece);
        afterSpecial = true;
        continue;
      }
      const strip = this.addSpacePrefix && afterSpecial && piece[0] === 0x20;
      parts.push(strip ? piece.subarray(1) : piece);
      afterSpecial = false;
    }
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(concat(parts));
  }

  tokenBytes(id: number): Uint8Array {
    this.check(id);
    let b = this.bytes[id];
    if (!b) {
      b = this.spell(id);
      this.bytes[id] = b;
    }
    return b;
  }

  pieceBytes(id: number, options: DecodeOptions = {}): Uint8Array {
    const bytes = this.tokenBytes(id);
    const t = this.v.types[id];
    // As llama.cpp's token_to_piece: control and unknown render only when asked; unused and undefined never.
    const hidden = t === TokenType.control || t === TokenType.unknown ? !options.special : t === TokenType.unused || t === 0;
    return hidden ? empty : bytes;
  }

  tokenText(id: number): string {
    this.check(id);
    return this.v.tokens[id];
  }

  tokenId(text: string): number {
    return this.v.tokenToId.get(text) ?? -1;
  }

  isControl(id: number): boolean {
    return this.v.types[id] === TokenType.control;
  }

  isEog(id: number): boolean {
    return this.eogIds.has(id);
  }

  private check(id: number): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.vocabSize)) {
      throw new TokenizerError(`tokenizer: token id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }

  private spell(id: number): Uint8Array {
    const text = this.v.tokens[id];
    const t = this.v.types[id];
    if (t === TokenType.byte) {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      if (m) return Uint8Array.of(parseInt(m[1], 16));
    }
    if (t !== TokenType.normal) return utf8.encode(text);
    return this.model === 'llama' ? utf8.encode(text.replaceAll('\u2581', ' ')) : fromByteLevel(text);
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
