// Pre-tokenizers for byte-level BPE, chosen by tokenizer.ggml.pre: each splits text into words that BPE merges never
// cross. Patterns are the ones llama.cpp uses (llama-vocab.cpp, llm_tokenizer_bpe), written for JavaScript:
// - Node 20 rejects inline flags such as (?i:'s|'t…), so the case-insensitive contractions are spelled out ('[sS]…),
//   as llama.cpp also does.
// - JavaScript's \s is not Unicode White_Space (it adds U+FEFF and lacks U+0085), so \s is spelled out as the
//   White_Space set llama.cpp and the Rust regex crate use.
import { TokenizerError } from '../errors';

const ws = String.raw`\t\n\v\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000`;
const s = `[${ws}]`;
const notS = `[^${ws}]`;
const contractionsAnyCase = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const gpt2Pattern = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^${ws}\p{L}\p{N}]+|${s}+(?!${notS})|${s}+`;
// Llama 3 and Qwen2 differ only in how many digits one word may hold (3 vs 1).
const llama3Like = (digits: string) =>
  String.raw`${contractionsAnyCase}|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}${digits}| ?[^${ws}\p{L}\p{N}]+[\r\n]*|${s}*[\r\n]+|${s}+(?!${notS})|${s}+`;

export interface PreTokenizer {
  /** The canonical pre-tokenizer name. */
  readonly name: 'llama3' | 'qwen2' | 'gpt2' | 'default';
  /** Applied in order: each pattern splits the words the previous one produced; unmatched gaps are words too. */
  readonly patterns: readonly RegExp[];
  /** NFC-normalize text first (Qwen's tokenizer.json does; llama.cpp does not, see report). */
  readonly nfc: boolean;
  /** A word that is itself a token is emitted whole, without merges (Llama 3's ignore_merges). */
  readonly ignoreMerges: boolean;
}

const re = (p: string) => new RegExp(p, 'gu');

const table: Record<PreTokenizer['name'], Omit<PreTokenizer, 'name'>> = {
  llama3: { patterns: [re(llama3Like('{1,3}'))], nfc: false, ignoreMerges: true },
  qwen2: { patterns: [re(llama3Like(''))], nfc: true, ignoreMerges: false },
  gpt2: { patterns: [re(gpt2Pattern)], nfc: false, ignoreMerges: false },
  // llama.cpp's fallback for files without a known pre-tokenizer.
  default: {
    patterns: [re(String.raw`[\p{P}\$\+<=>\^~\|]+`), re(gpt2Pattern), re(String.raw`\p{N}+`), re('[0-9][0-9][0-9]')],
    nfc: false,
    ignoreMerges: false,
  },
};

// tokenizer.ggml.pre values that mean each pre-tokenizer (the subset of llama.cpp's list this engine serves).
const aliases: Record<string, PreTokenizer['name']> = {
  llama3: 'llama3',
  'llama-v3': 'llama3',
  'llama-bpe': 'llama3',
  qwen2: 'qwen2',
  'deepseek-r1-qwen': 'qwen2',
  'gpt-2': 'gpt2',
  'phi-2': 'gpt2',
  default: 'default',
};

export function preTokenizerFor(pre: string): PreTokenizer {
  const name = aliases[pre];
  if (!name) {
    throw new TokenizerError(
      `GGUF metadata tokenizer.ggml.pre is '${pre}': this engine knows ${Object.keys(aliases).map((a) => `'${a}'`).join(', ')}`,
    );
  }
  return { name, ...table[name] };
}

/**
 * The words of `text` under the pre-tokenizer's patterns, produced as they are found (a caller can stop between
 * them). Only the first pattern's walk is lazy, on its own copy of the pattern (its lastIndex lives across yields,
 * and several walks may be in progress at once); each piece it yields is split by the other patterns at once: pieces
 * are short, and generators nested per pattern cost 1.5–2.5× the time on a large file.
 */
export function* preTokenize(p: PreTokenizer, text: string): Generator<string, void, undefined> {
  const [first, ...rest] = p.patterns;
  const pattern = new RegExp(first.source, first.flags);
  const words: string[] = [];
  let from = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    if (m[0] === '') {
      pattern.lastIndex++;
      continue;
    }
    const gap = m.index > from ? text.slice(from, m.index) : undefined;
    from = m.index + m[0].length;
    if (rest.length === 0) {
      if (gap !== undefined) yield gap;
      yield m[0];
      continue;
    }
    if (gap !== undefined) splitRest(rest, gap, words);
    splitRest(rest, m[0], words);
    yield* words;
    words.length = 0;
  }
  if (from < text.length) splitRest(rest, from === 0 ? text : text.slice(from), words);
  yield* words;
}

/** Splits `text` by each of `patterns` in turn, appending the words to `out` (synchronous: shared patterns are safe). */
function splitRest(patterns: readonly RegExp[], text: string, out: string[]): void {
  let words = [text];
  for (const pattern of patterns) {
    const next: string[] = [];
    for (const w of words) splitKeepingGaps(w, pattern, next);
    words = next;
  }
  for (const w of words) out.push(w);
}

function splitKeepingGaps(text: string, pattern: RegExp, out: string[]): void {
  pattern.lastIndex = 0;
  let from = 0;
  for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
    if (m[0] === '') {
      pattern.lastIndex++;
      continue;
    }
    if (m.index > from) out.push(text.slice(from, m.index));
    out.push(m[0]);
    from = m.index + m[0].length;
  }
  if (from < text.length) out.push(text.slice(from));
}
