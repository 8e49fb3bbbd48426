// Reads one file and decides from its bytes whether it is source text worth context tokens. Run when a file is
// packed, never for the whole tree at once: one file's bytes are held at a time.
//
// Decisions:
// - Binary: a NUL byte in the first 8 KiB (what git and ripgrep check). UTF-16 files with a byte-order mark are text
//   and are decoded, not skipped for their NULs.
// - Invalid UTF-8: decoded with U+FFFD replacement and noted (FileSpan.invalidUtf8), not skipped. Such files are
//   mostly legacy Latin-1/Windows-1252 sources whose code is ASCII and whose few accented comment characters are all
//   that is lost; skipping would lose the code. Truly binary data has NUL bytes and is caught first.
// - Minified: only files of at least MINIFIED_MIN_CHARS are judged: minified when the mean line length exceeds 300
//   characters, or when lines longer than 1000 characters hold at least 20% of the text. A single long line (an
//   embedded data URI, a long regex) in an otherwise normal file does not make it minified.
import { createHash } from 'node:crypto';
import { errorCode, type ReaderFs } from './readerFs';

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
const SNIFF_BYTES = 8192;
const MINIFIED_MIN_CHARS = 2048;
const MINIFIED_MEAN_LINE = 300;
const LONG_LINE = 1000;
const LONG_LINE_SHARE = 0.2;

export interface SourceText {
  readonly kind: 'text';
  readonly text: string;
  /** sha256 of the file's bytes, hex. */
  readonly sha256: string;
  readonly bytes: number;
  /** U+FFFD inserted for invalid UTF-8 sequences (0 when the file decoded cleanly). */
  readonly invalidUtf8: number;
}

export interface SourceSkipped {
  readonly kind: 'skipped';
  readonly reason: 'binary' | 'too-large' | 'minified' | 'unreadable';
  readonly detail: string;
}

export type SourceRead = SourceText | SourceSkipped;

/** Reads `absPath` and classifies it; file-system errors become 'unreadable' with the errno code. */
export async function readSource(fs: ReaderFs, absPath: string, maxFileBytes = DEFAULT_MAX_FILE_BYTES): Promise<SourceRead> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(absPath, maxFileBytes);
  } catch (error) {
    // The walk saw a small regular file; by now it may have grown or been replaced (readerFs.ts).
    const code = errorCode(error);
    if (code === 'EFBIG') {
      return { kind: 'skipped', reason: 'too-large', detail: `${(error as { size: number }).size} bytes > the ${maxFileBytes}-byte cap (grew after the walk)` };
    }
    if (code === 'EFTYPE') return { kind: 'skipped', reason: 'unreadable', detail: `not a regular file when read (${(error as { kind: string }).kind})` };
    return { kind: 'skipped', reason: 'unreadable', detail: `cannot be read: ${code}` };
  }
  return classifySource(bytes, maxFileBytes);
}

/** Classifies a file's bytes (pure: the tests call it directly). */
export function classifySource(bytes: Uint8Array, maxFileBytes = DEFAULT_MAX_FILE_BYTES): SourceRead {
  if (bytes.length > maxFileBytes) {
    return { kind: 'skipped', reason: 'too-large', detail: `${bytes.length} bytes > the ${maxFileBytes}-byte cap` };
  }
  let text: string;
  let invalidUtf8 = 0;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    text = new TextDecoder('utf-16le').decode(bytes.subarray(2));
  } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    text = new TextDecoder('utf-16be').decode(bytes.subarray(2));
  } else {
    const nul = bytes.subarray(0, SNIFF_BYTES).indexOf(0);
    if (nul >= 0) return { kind: 'skipped', reason: 'binary', detail: `NUL byte at offset ${nul}` };
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      text = new TextDecoder('utf-8', { ignoreBOM: false }).decode(bytes);
      invalidUtf8 = countReplacements(text) - countEncodedReplacements(bytes);
    }
  }
  const minified = minifiedReason(text);
  if (minified) return { kind: 'skipped', reason: 'minified', detail: minified };
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { kind: 'text', text, sha256, bytes: bytes.length, invalidUtf8 };
}

/** Why `text` looks minified or generated, or undefined. */
export function minifiedReason(text: string): string | undefined {
  if (text.length < MINIFIED_MIN_CHARS) return undefined;
  let lines = 0;
  let longChars = 0;
  let maxLine = 0;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const length = end - start;
    lines++;
    if (length > LONG_LINE) longChars += length;
    if (length > maxLine) maxLine = length;
    start = end + 1;
    if (end === text.length) break;
  }
  const mean = text.length / lines;
  if (mean > MINIFIED_MEAN_LINE) return `mean line length ${Math.round(mean)} > ${MINIFIED_MEAN_LINE} characters`;
  if (longChars >= LONG_LINE_SHARE * text.length) {
    return `${Math.round((100 * longChars) / text.length)}% of the text is in lines over ${LONG_LINE} characters (longest ${maxLine})`;
  }
  return undefined;
}

function countReplacements(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) n++;
  return n;
}

/** U+FFFD that were in the file as valid UTF-8 (EF BF BD), so not caused by invalid bytes. */
function countEncodedReplacements(bytes: Uint8Array): number {
  let n = 0;
  for (let i = bytes.indexOf(0xef); i >= 0 && i + 2 < bytes.length; i = bytes.indexOf(0xef, i + 1)) {
    if (bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) n++;
  }
  return n;
}
