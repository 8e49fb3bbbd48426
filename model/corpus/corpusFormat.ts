// The corpus on disk: one folder per part, each self-contained, read by the trainer (model/train/corpus.py). All
// tables are flat little-endian arrays; index.json names each table's columns. A part holds whole packages.
//
//   index.json     format, version, split, prompt format, special token ids, table shapes, constant token sequences
//   tokens.u16     (total tokens) every kept file framed and tokenized exactly as the extension packs it
//   files.u32      (files, 7)  package, tokenStart, tokenCount, lineStart, lineCount, headerTokens, flags
//   lines.u32      (Σ lineCount) per file its lineTokenStarts (manifest.ts), relative to the file's first token;
//                  bit 31 set when that line starts in column 0 with a non-space character (see SAFE_LINE)
//   packages.u32   (packages, 7)  fileStart, fileCount, defStart, defCount, useStart, useCount, tokens
//   defs.u32       (definitions, 4)  file, line (1-based), name, kind | declaration << 8 | signature << 9
//   uses.u32       (usages, 4)  file, line, name, kind (0 import, 1 call)
//   names.u32      (names, 8)  definition question, signature question, usage question, name-first prefix: (offset, length) into seqs
//   seqs.u16       token sequences referenced by the tables above
//   passkeys.u32   (keys, 4)  needle (offset, length), answer (offset, length) into seqs
//   quest.u32      (examples, 5)  context length, prompt (offset, length), answer (offset, length) into quest.u16
//   quest.u16      Quest-style passkey prompts (English filler), whole
//   names.json     the name strings (debugging and evaluation; the trainer does not need them)

export const CORPUS_FORMAT = 'quest-lens-corpus';
export const CORPUS_VERSION = 1;

export const FILE_COLUMNS = ['package', 'tokenStart', 'tokenCount', 'lineStart', 'lineCount', 'headerTokens', 'flags'] as const;
export const PACKAGE_COLUMNS = ['fileStart', 'fileCount', 'defStart', 'defCount', 'useStart', 'useCount', 'tokens'] as const;
export const DEF_COLUMNS = ['file', 'line', 'name', 'kind'] as const;
export const USE_COLUMNS = ['file', 'line', 'name', 'kind'] as const;
export const NAME_COLUMNS = ['defOff', 'defLen', 'sigOff', 'sigLen', 'useOff', 'useLen', 'prefixOff', 'prefixLen'] as const;
export const PASSKEY_COLUMNS = ['needleOff', 'needleLen', 'answerOff', 'answerLen'] as const;
export const QUEST_COLUMNS = ['length', 'promptOff', 'promptLen', 'answerOff', 'answerLen'] as const;

/** files.flags bit 0: a declaration file (.d.ts). */
export const FILE_DECLARATION = 1;

/**
 * lines.u32 bit 31: the line begins in column 0 with a non-space character. p50k's pre-tokenizer never joins a
 * newline to a following non-space character, so the file's tokens split exactly there: a window of whole lines
 * between two such lines, or a comment line inserted at one, tokenizes as the concatenation of the pieces.
 */
export const SAFE_LINE = 0x80000000;

/** defs.kind low byte. */
export const DEFINITION_KINDS = ['function', 'class', 'variable', 'type', 'export', 'method', 'prototype'] as const;
export const DEF_DECLARATION = 1 << 8;
export const DEF_SIGNATURE = 1 << 9;

export interface TableShape {
  readonly file: string;
  readonly dtype: 'u16' | 'u32';
  readonly rows: number;
  readonly columns: readonly string[];
}

export interface CorpusIndex {
  readonly format: typeof CORPUS_FORMAT;
  readonly version: typeof CORPUS_VERSION;
  readonly part: string;
  readonly split: 'train' | 'heldout';
  readonly seed: number;
  readonly tokenizer: 'p50k_base';
  readonly vocabSize: number;
  readonly promptFormat: string;
  readonly eot: number;
  readonly newline: number;
  /** Ids of tokens whose bytes are all whitespace (trimmed off the ends of quoted lines). */
  readonly whitespaceTokens: readonly number[];
  /** Constant sequences: the passkey question part, the answer when a name is not in the context. */
  readonly constants: { readonly passkeyQuestion: readonly number[]; readonly notInContext: readonly number[] };
  readonly tables: Readonly<Record<string, TableShape>>;
  readonly packages: readonly { readonly name: string; readonly version: string }[];
  readonly totals: { readonly tokens: number; readonly files: number; readonly definitions: number; readonly usages: number; readonly names: number };
}
