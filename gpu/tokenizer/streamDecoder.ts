// Turns generated tokens into text as they arrive. A character's UTF-8 bytes may be split across tokens (byte
// fallback tokens, byte-level BPE pieces of emoji or CJK); only complete characters are emitted, the rest waits.
import type { DecodeOptions, Tokenizer } from './tokenizer';

export class TextStreamDecoder {
  // ignoreBOM: a U+FEFF the model writes is text, not a byte-order mark to drop.
  private decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: DecodeOptions = {},
  ) {}

  /** The text this token completes: whole characters only, possibly ''. */
  push(id: number): string {
    return this.decoder.decode(this.tokenizer.pieceBytes(id, this.options), { stream: true });
  }

  /** Whatever is still waiting (an incomplete character becomes U+FFFD); the decoder starts afresh after. */
  end(): string {
    const rest = this.decoder.decode();
    this.decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    return rest;
  }
}
