// GPT-2's byte-level alphabet: every byte is written as one printable code point, so byte-level BPE vocabularies
// (GPT-2, p50k, Llama 3, Qwen) store token byte strings as ordinary text. Printable Latin-1 bytes map to themselves;
// the other 68 bytes (controls, space, DEL, NBSP, soft hyphen) map in order to U+0100..U+0143.

function buildByteToChar(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep(b) ? b : next++);
  return out;
}

/** (256) byte -> its one-character stand-in. */
export const byteToChar: readonly string[] = buildByteToChar();

/** Stand-in char code -> byte, -1 for a char that stands for no byte. Char codes stay below 0x144. */
const charToByteTable: Int16Array = (() => {
  const t = new Int16Array(0x144).fill(-1);
  byteToChar.forEach((c, b) => (t[c.charCodeAt(0)] = b));
  return t;
})();

/** The byte a stand-in char code stands for, or -1. */
export function charCodeToByte(code: number): number {
  return code < charToByteTable.length ? charToByteTable[code] : -1;
}

const utf8 = new TextEncoder();

/** UTF-8 bytes of `text`; ASCII text (most of any codebase) skips the encoder. */
export function utf8Bytes(text: string): ArrayLike<number> & Iterable<number> {
  const codes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return utf8.encode(text);
    codes.push(c);
  }
  return codes;
}

/** UTF-8 bytes of `text` written in the byte-level alphabet (one char per byte). */
export function toByteLevel(text: string): string {
  let out = '';
  for (const b of utf8Bytes(text)) out += byteToChar[b];
  return out;
}

/** Bytes a byte-level token string stands for. Chars outside the alphabet (added tokens written raw) are kept as UTF-8. */
export function fromByteLevel(token: string): Uint8Array {
  const out: number[] = [];
  for (const ch of token) {
    const b = charCodeToByte(ch.charCodeAt(0));
    if (b >= 0 && ch.length === 1) out.push(b);
    else out.push(...utf8.encode(ch));
  }
  return Uint8Array.from(out);
}
