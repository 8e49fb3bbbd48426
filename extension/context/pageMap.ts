// Lookups between tokens, KV pages (page = floor(token / pageSize)) and file lines, over a ContextManifest. Used to
// turn the pages an answer read into `file:line` citations and heatmap rows, and a file:line into the pages it sits
// in. Lines are 1-based; line 0 stands for a file's header line. All token ranges are half-open.
import type { ContextManifest, FileSpan } from './manifest';

/** Where one token of the context came from. */
export interface TokenLocation {
  /** Index into manifest.files. */
  readonly file: number;
  readonly path: string;
  /** 0 for the header line, else the 1-based file line. */
  readonly line: number;
}

/** The lines of one file that one page holds. */
export interface PageFileRange {
  readonly file: number;
  readonly path: string;
  readonly folder: number;
  readonly relPath: string;
  /** First and last line (inclusive) with a token in the page; 0 is the header. */
  readonly firstLine: number;
  readonly lastLine: number;
  /** The page's tokens that belong to this file. */
  readonly tokenStart: number;
  readonly tokenEnd: number;
}

export class ManifestIndex {
  private readonly byPath = new Map<string, number>();

  constructor(readonly manifest: ContextManifest) {
    manifest.files.forEach((f, i) => this.byPath.set(f.path, i));
  }

  /** Page holding `token`. */
  pageOf(token: number): number {
    return Math.floor(token / this.manifest.pageSize);
  }

  /** Number of pages the packed context fills (the last one may be partly filled). */
  get pageCount(): number {
    return Math.ceil(this.manifest.totalTokens / this.manifest.pageSize);
  }

  /** Index into manifest.files of the file with this header path, or -1. */
  fileIndex(path: string): number {
    return this.byPath.get(path) ?? -1;
  }

  /** The file and line a token came from; undefined for leading tokens and tokens past the files. */
  locate(token: number): TokenLocation | undefined {
    const file = this.fileAt(token);
    if (file < 0) return undefined;
    const span = this.manifest.files[file];
    return { file, path: span.path, line: lineOf(span, token - span.tokenStart) };
  }

  /** Tokens of line `line` (0 = header) of file `file` (an index or a header path). */
  lineTokens(file: number | string, line: number): { readonly tokenStart: number; readonly tokenEnd: number } {
    const span = this.span(file);
    const lines = span.lineTokenStarts.length - 1;
    if (!Number.isInteger(line) || line < 0 || line > lines) {
      throw new RangeError(`${span.path} has lines 1..${lines} (0 = header), asked for line ${line}`);
    }
    const start = line === 0 ? 0 : span.lineTokenStarts[line - 1];
    const end = line === 0 ? span.headerTokens : span.lineTokenStarts[line];
    return { tokenStart: span.tokenStart + start, tokenEnd: span.tokenStart + end };
  }

  /**
   * Pages that hold tokens of lines firstLine..lastLine (inclusive) of `file`. An empty line (see FileSpan) sits
   * inside the token that ends the line before it: it reports that token's page.
   */
  linePages(file: number | string, firstLine: number, lastLine = firstLine): { readonly firstPage: number; readonly lastPage: number } {
    const a = this.lineTokens(file, firstLine);
    const b = this.lineTokens(file, lastLine);
    const start = a.tokenEnd > a.tokenStart ? a.tokenStart : Math.max(a.tokenStart - 1, 0);
    const end = b.tokenEnd > b.tokenStart ? b.tokenEnd : Math.max(b.tokenStart, start + 1);
    return { firstPage: this.pageOf(start), lastPage: this.pageOf(end - 1) };
  }

  /** The files and line ranges one page holds, in context order (empty for a page of leading tokens only). */
  pageContents(page: number): PageFileRange[] {
    const size = this.manifest.pageSize;
    const pageStart = page * size;
    const pageEnd = Math.min(pageStart + size, this.manifest.totalTokens);
    const out: PageFileRange[] = [];
    let file = this.fileAt(pageStart);
    if (file < 0) file = this.firstFileFrom(pageStart);
    for (; file >= 0 && file < this.manifest.files.length; file++) {
      const span = this.manifest.files[file];
      if (span.tokenStart >= pageEnd) break;
      const tokenStart = Math.max(span.tokenStart, pageStart);
      const tokenEnd = Math.min(span.tokenEnd, pageEnd);
      if (tokenEnd <= tokenStart) continue;
      out.push({
        file,
        path: span.path,
        folder: span.folder,
        relPath: span.relPath,
        firstLine: lineOf(span, tokenStart - span.tokenStart),
        lastLine: lineOf(span, tokenEnd - 1 - span.tokenStart),
        tokenStart,
        tokenEnd,
      });
    }
    return out;
  }

  private span(file: number | string): FileSpan {
    const index = typeof file === 'number' ? file : this.fileIndex(file);
    const span = this.manifest.files[index];
    if (!span) throw new RangeError(`no file ${JSON.stringify(file)} in the context manifest (${this.manifest.files.length} files)`);
    return span;
  }

  /** Index of the file whose span holds `token`, or -1 (binary search over tokenStart). */
  private fileAt(token: number): number {
    const files = this.manifest.files;
    let lo = 0;
    let hi = files.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (token < files[mid].tokenStart) hi = mid - 1;
      else if (token >= files[mid].tokenEnd) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Index of the first file starting at or after `token`, or -1. */
  private firstFileFrom(token: number): number {
    const i = this.manifest.files.findIndex((f) => f.tokenStart >= token);
    return i;
  }
}

/** Line (0 = header) of the token at `offset` from the span's start: the last line starting at or before it. */
function lineOf(span: FileSpan, offset: number): number {
  if (offset < span.headerTokens) return 0;
  const starts = span.lineTokenStarts;
  // Largest n (1-based line) with starts[n-1] <= offset, among lines 1..starts.length-1.
  let lo = 0;
  let hi = starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
