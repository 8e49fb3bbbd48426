// How one file appears in the context, and how its tokens map to its lines.
//
// Framing: a header line `// File: <folder name>/<path>` then the file's text, ending with a newline (one is added
// if the file lacks it), and nothing between files. This is exactly the framing the default model was trained on
// (default-model-findings.md); it reads as a comment in most languages and costs a handful of tokens. Header and
// text are tokenized together, per file, so a file's tokens do not depend on its neighbours: editing one file leaves
// every other file's tokens (and their KV pages, once re-based) unchanged.
//
// Lines: the framed text's line 0 is the header; file line n is framed line n. Lines are split at "\n" only ("\r\n"
// keeps its "\r" at the end of the line; a lone "\r" does not end a line). A token belongs to the line its first byte
// is on: the line of a token is the number of "\n" bytes in the tokens before it. So a token that straddles a
// newline ("\n\n", "}\n  ") counts for the line it starts on, the next line begins at the next token, and a line
// whose bytes all sit inside such a token is empty (its start equals the next line's start). Counting newline bytes
// in the token bytes rather than mapping byte offsets keeps this right for tokenizers that normalize text (NFC).
import { ContextError } from './errors';

/** The packer's view of the model's tokenizer (the engine's tokenizer has these; so does the test adapter). */
export interface ContextTokenizer {
  /** Token ids of `text`, with no BOS or other special tokens added. */
  encode(text: string): ArrayLike<number>;
  /**
   * Optional: `encode` in steps of a few milliseconds, appending to `out`; when the steps are done `out` holds exactly
   * encode(text). The packer lets a cancel in between steps, so a megabyte file does not hold it up (see pacer.ts).
   */
  encodeSteps?(text: string, out: number[]): Iterable<unknown>;
  /** The UTF-8 bytes token `id` stands for (a partial character for byte-fallback tokens). */
  tokenBytes(id: number): Uint8Array;
}

const HEADER_PREFIX = '// File: ';

/** The header line, newline included; control characters in the path become U+FFFD so the header stays one line. */
export function fileHeader(path: string): string {
  // eslint-disable-next-line no-control-regex
  return `${HEADER_PREFIX}${path.replace(/[\u0000-\u001f\u007f]/g, '\ufffd')}\n`;
}

/** Header plus text, ending with exactly the newlines the file has, or one if it has none. */
export function frameFile(path: string, text: string): string {
  return fileHeader(path) + text + (text === '' || text.endsWith('\n') ? '' : '\n');
}

/** Lines of a file's text as framed: the number of "\n" after adding the final newline. */
export function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return text === '' || text.endsWith('\n') ? n : n + 1;
}

export interface FramedTokens {
  /** (tokens of the framed file) */
  readonly ids: Uint32Array;
  readonly headerTokens: number;
  /** (lines + 1), relative to the file's first token; see FileSpan.lineTokenStarts. */
  readonly lineTokenStarts: number[];
}

/** Maps the lines of a framed file (`lines` as countLines gives) to its tokens `ids`. `path` is only for errors. */
export function mapFramedLines(tokenizer: ContextTokenizer, path: string, ids: Uint32Array, lines: number): FramedTokens {
  // starts[k] = first token whose line is >= k, for framed lines k = 0 (header) .. lines; then the end.
  const starts = new Array<number>(lines + 2);
  let line = 0;
  let next = 0; // the next framed line whose start is not yet known
  for (let t = 0; t < ids.length; t++) {
    while (next <= line && next <= lines) starts[next++] = t;
    const bytes = tokenizer.tokenBytes(ids[t]);
    for (let b = 0; b < bytes.length; b++) if (bytes[b] === 0x0a) line++;
  }
  const newlines = lines + 1; // the header's and one per file line
  if (line !== newlines) {
    throw new ContextError(
      'tokenizer',
      `${path}: the tokens hold ${line} newlines but the framed text has ${newlines}: the tokenizer's tokenBytes does not round-trip its encode`,
    );
  }
  while (next <= lines + 1) starts[next++] = ids.length;
  return { ids, headerTokens: starts[1], lineTokenStarts: starts.slice(1) };
}
