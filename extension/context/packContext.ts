// Packs collected files into one token sequence plus its ContextManifest: each file read, checked (readSource.ts),
// framed and tokenized on its own (framing.ts), in context order. Without a window every readable file goes in,
// streamed one file at a time. With a window (contextWindow.ts) there are two passes: the first reads every file to
// classify and score it (no tokenizing, nothing kept but a few numbers per file); the second reads and tokenizes
// files from the best score down until the budget is spent. Memory: the kept tokens plus one file at a time.
import type { FileEntry } from './collectFiles';
import { RelevanceScorer, type FileFeatures, type WindowSignals } from './contextWindow';
import { ContextError } from './errors';
import { countLines, fileHeader, frameFile, mapFramedLines, type ContextTokenizer } from './framing';
import type { ContextManifest, FileSpan, SkippedFile } from './manifest';
import { encodePaced, Pacer } from './pacer';
import { nodeReaderFs, type ReaderFs } from './readerFs';
import { DEFAULT_MAX_FILE_BYTES, readSource, type SourceText } from './readSource';

export interface ContextWindow extends WindowSignals {
  /** The model's context length: leading tokens + files + reserve + question must fit in it. */
  readonly maxContextTokens: number;
  /** Tokens kept free after the files for the prompt framing around the question and for the answer (default 512). */
  readonly reserveTokens?: number;
}

export interface PackProgress {
  readonly phase: 'read' | 'tokenize';
  readonly done: number;
  readonly total: number;
}

/** What the reader is doing: finding files (collectFiles' walk), then the pack's passes. */
export type ReaderPhase = 'walk' | PackProgress['phase'];

export interface PackOptions {
  /** Files in context order, as collectFiles returns them. */
  readonly files: readonly FileEntry[];
  /** What collectFiles left out; carried into the manifest first. */
  readonly skipped?: readonly SkippedFile[];
  readonly tokenizer: ContextTokenizer;
  /** KV page size in tokens (the manifest's page mapping). */
  readonly pageSize: number;
  /** Tokens before the first file, e.g. [BOS]; positions in the manifest count them. */
  readonly leadingTokens?: readonly number[];
  /** Fit into a context window; absent: every readable file goes in. */
  readonly window?: ContextWindow;
  readonly maxFileBytes?: number;
  readonly fs?: ReaderFs;
  /**
   * Checked before every file and, with a tokenizer that has encodeSteps, every few ms while one is tokenized; an
   * abort rejects with the signal's reason.
   */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: PackProgress) => void;
}

export interface PackedContext {
  /** (manifest.totalTokens) leading tokens, then each file's framed tokens in manifest order. */
  readonly tokens: Uint32Array;
  readonly manifest: ContextManifest;
}

/** One file ready to place: its tokens and line map. */
interface PackedFile {
  readonly entry: FileEntry;
  readonly order: number;
  readonly ids: Uint32Array;
  readonly headerTokens: number;
  readonly lineTokenStarts: readonly number[];
  readonly sha256: string;
  readonly invalidUtf8: number;
}

const DEFAULT_RESERVE = 512;
/** Files read ahead of the one being tokenized or scored. */
const READ_AHEAD = 8;
/** Tokens per character assumed before any file of this workspace has been tokenized (code is ≈ 0.25–0.35). */
const INITIAL_TOKENS_PER_CHAR = 0.3;

export async function packContext(options: PackOptions): Promise<PackedContext> {
  if (!Number.isInteger(options.pageSize) || options.pageSize <= 0) {
    throw new ContextError('options', `pageSize must be a positive integer, got ${options.pageSize}`);
  }
  const skipped: SkippedFile[] = [...(options.skipped ?? [])];
  const pacer = new Pacer(options.signal);
  const packed = options.window ? await packWindow(options, options.window, skipped, pacer) : await packAll(options, skipped, pacer);
  return assemble(options, packed.sort((a, b) => a.order - b.order), skipped);
}

/** Reads, checks, frames and tokenizes one file; a file that is not text lands in `skipped`. */
async function packFile(options: PackOptions, entry: FileEntry, order: number, skipped: SkippedFile[], pacer: Pacer): Promise<PackedFile | undefined> {
  const source = await readSource(options.fs ?? nodeReaderFs, entry.absPath, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  if (source.kind === 'skipped') {
    skipped.push({ path: entry.path, reason: source.reason, detail: source.detail });
    return undefined;
  }
  return tokenizeSource(options, entry, order, source, pacer);
}

async function tokenizeSource(options: PackOptions, entry: FileEntry, order: number, source: SourceText, pacer: Pacer): Promise<PackedFile> {
  const ids = await encodePaced(options.tokenizer, frameFile(entry.path, source.text), pacer);
  const framed = mapFramedLines(options.tokenizer, entry.path, ids, countLines(source.text));
  return { entry, order, ...framed, sha256: source.sha256, invalidUtf8: source.invalidUtf8 };
}

async function packAll(options: PackOptions, skipped: SkippedFile[], pacer: Pacer): Promise<PackedFile[]> {
  const fs = options.fs ?? nodeReaderFs;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const out: PackedFile[] = [];
  const total = options.files.length;
  let i = 0;
  for await (const source of readAhead(total, (k) => readSource(fs, options.files[k].absPath, maxFileBytes))) {
    options.signal?.throwIfAborted();
    const entry = options.files[i];
    if (source.kind === 'skipped') skipped.push({ path: entry.path, reason: source.reason, detail: source.detail });
    else out.push(await tokenizeSource(options, entry, i, source, pacer));
    i++;
    options.onProgress?.({ phase: 'tokenize', done: i, total });
  }
  return out;
}

/**
 * Yields read(0) … read(count - 1) in order while keeping up to `depth` reads in flight, so the disk works while
 * the previous file is tokenized. At most `depth` files' bytes are held at once; `read` must not reject.
 */
async function* readAhead<T>(count: number, read: (index: number) => Promise<T>, depth = READ_AHEAD): AsyncGenerator<T> {
  const inFlight: Promise<T>[] = [];
  let next = 0;
  while (next < count && inFlight.length < depth) inFlight.push(read(next++));
  while (inFlight.length > 0) {
    const value = await inFlight.shift()!;
    if (next < count) inFlight.push(read(next++));
    yield value;
  }
}

async function packWindow(options: PackOptions, window: ContextWindow, skipped: SkippedFile[], pacer: Pacer): Promise<PackedFile[]> {
  const fs = options.fs ?? nodeReaderFs;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const reserve = window.reserveTokens ?? DEFAULT_RESERVE;
  const questionTokens = window.question ? options.tokenizer.encode(window.question).length : 0;
  const leading = options.leadingTokens?.length ?? 0;
  const budget = window.maxContextTokens - leading - reserve - questionTokens;
  if (!(budget > 0)) {
    throw new ContextError(
      'options',
      `no room for files: maxContextTokens ${window.maxContextTokens} - leading ${leading} - reserve ${reserve} - question ${questionTokens} = ${budget} tokens`,
    );
  }

  // Pass 1: read and classify every file, score it; keep only numbers. The open file goes first so that its
  // imports are known when the others are scored.
  const scorer = new RelevanceScorer(window);
  const total = options.files.length;
  const openIndex = options.files.findIndex((f) => scorer.isOpenFile(f));
  const readOrder = openIndex < 0 ? options.files.map((_, i) => i) : [openIndex, ...options.files.map((_, i) => i).filter((i) => i !== openIndex)];
  const features: FileFeatures[] = [];
  let done = 0;
  for await (const source of readAhead(total, (n) => readSource(fs, options.files[readOrder[n]].absPath, maxFileBytes))) {
    options.signal?.throwIfAborted();
    const i = readOrder[done];
    const entry = options.files[i];
    if (source.kind === 'skipped') {
      skipped.push({ path: entry.path, reason: source.reason, detail: source.detail });
    } else {
      if (i === openIndex) scorer.setOpenFileText(source.text);
      features.push(scorer.observe(entry, i, fileHeader(entry.path).length + source.text.length + 1, source.text));
    }
    done++;
    options.onProgress?.({ phase: 'read', done, total });
  }

  // Pass 2: tokenize from the best score down while files fit (reads are not pipelined here: whether the next file
  // is read depends on what is left of the budget, and this pass usually reads only as many files as fit).
  let tokensPerChar = INITIAL_TOKENS_PER_CHAR;
  let measuredTokens = 0;
  let measuredChars = 0;
  const estimate = (f: FileFeatures) => Math.ceil(f.chars * tokensPerChar);
  const ranked = features
    .map((f) => ({ f, score: scorer.score(f, estimate(f)) }))
    .sort((a, b) => b.score - a.score || a.f.order - b.f.order);
  let remaining = budget;
  const kept: PackedFile[] = [];
  for (let k = 0; k < ranked.length; k++) {
    // Once the window is full the rest of the ranking is skipped without a read, a long synchronous stretch on a
    // 100,000-file workspace: let a cancel in now and then.
    await pacer.breathe();
    const { f } = ranked[k];
    const guess = estimate(f);
    // Estimates run high or low by a few tens of percent: tokenize unless the file is clearly too big.
    if (guess * 0.7 > remaining) {
      skipped.push(overBudget(f, guess, true, remaining, budget));
    } else {
      const file = await packFile(options, f.entry, f.order, skipped, pacer);
      if (file) {
        measuredTokens += file.ids.length;
        measuredChars += f.chars;
        tokensPerChar = measuredTokens / measuredChars;
        if (file.ids.length <= remaining) {
          kept.push(file);
          remaining -= file.ids.length;
        } else {
          skipped.push(overBudget(f, file.ids.length, false, remaining, budget));
        }
      }
    }
    options.onProgress?.({ phase: 'tokenize', done: k + 1, total: ranked.length });
  }
  return kept;
}

function overBudget(f: FileFeatures, tokens: number, estimated: boolean, remaining: number, budget: number): SkippedFile {
  const what = f.isOpenFile ? 'the open file alone needs' : 'needs';
  return {
    path: f.entry.path,
    reason: 'over-budget',
    detail: `${what} ${estimated ? '≈' : ''}${tokens} tokens; ${remaining} of the ${budget}-token budget were left`,
    tokens,
    tokensEstimated: estimated,
  };
}

/** Concatenates the kept files (in context order) after the leading tokens and builds the manifest. */
function assemble(options: PackOptions, files: readonly PackedFile[], skipped: readonly SkippedFile[]): PackedContext {
  const leading = options.leadingTokens ?? [];
  const totalTokens = files.reduce((n, f) => n + f.ids.length, leading.length);
  const tokens = new Uint32Array(totalTokens); // (totalTokens)
  tokens.set(leading, 0);
  let at = leading.length;
  const spans: FileSpan[] = [];
  for (const f of files) {
    tokens.set(f.ids, at);
    spans.push({
      path: f.entry.path,
      folder: f.entry.folder,
      relPath: f.entry.relPath,
      tokenStart: at,
      tokenEnd: at + f.ids.length,
      lineTokenStarts: f.lineTokenStarts,
      headerTokens: f.headerTokens,
      sha256: f.sha256,
      ...(f.invalidUtf8 > 0 ? { invalidUtf8: f.invalidUtf8 } : {}),
    });
    at += f.ids.length;
  }
  const manifest: ContextManifest = {
    version: 1,
    pageSize: options.pageSize,
    totalTokens,
    leadingTokens: leading.length,
    files: spans,
    skipped,
  };
  return { tokens, manifest };
}
