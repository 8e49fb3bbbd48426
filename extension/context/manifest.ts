// The context manifest: which token ranges of the packed context came from which file and lines, and so which KV
// pages. Made by the packer, read by the webview, the CLI and citation mapping. No vscode import: the CLI uses it.

/** One file's span of the packed context. Token ranges are half-open [start, end). */
export interface FileSpan {
  /**
   * The path shown in the file's header line: `<folder name>/<path inside the folder>`, forward slashes (the folder
   * name is always there, multi-root or not: the default model was trained on `// File: <package>/<path>` headers).
   */
  readonly path: string;
  /** Index of the workspace folder the file belongs to (multi-root workspaces). */
  readonly folder: number;
  /** Path inside its workspace folder, forward slashes: with `folder`, what a citation opens. */
  readonly relPath: string;
  /** First token of the span (the header line included). */
  readonly tokenStart: number;
  readonly tokenEnd: number;
  /**
   * (lines of the file + 1) token offsets relative to tokenStart: entry n-1 is where line n (1-based) begins, so
   * entry 0 equals headerTokens, and the last entry is the span's length (tokenEnd - tokenStart). Line n covers
   * tokens [tokenStart + lineTokenStarts[n-1], tokenStart + lineTokenStarts[n]). A token belongs to the line its
   * first byte is on, so a token that straddles a newline counts for the earlier line and a line can be empty.
   */
  readonly lineTokenStarts: readonly number[];
  /** Tokens of the header line that frames the file; line 1 starts at tokenStart + headerTokens. */
  readonly headerTokens: number;
  /** sha256 of the file's bytes, hex: the persisted KV cache is keyed by these. */
  readonly sha256: string;
  /** Invalid UTF-8 sequences that were decoded as U+FFFD; absent when the file decoded cleanly. */
  readonly invalidUtf8?: number;
}

/** What was left out of the context and why; shown to the user. */
export interface SkippedFile {
  /** Same form as FileSpan.path (`<folder name>/<path>`); a skipped folder ends with `/`. */
  readonly path: string;
  readonly reason: 'binary' | 'too-large' | 'minified' | 'lock-file' | 'unreadable' | 'excluded' | 'over-budget' | 'symlink-loop';
  readonly detail?: string;
  /** 'over-budget' only: the tokens the file would have taken (header included). */
  readonly tokens?: number;
  /** 'over-budget' only: true when `tokens` is estimated from the file's length rather than counted. */
  readonly tokensEstimated?: boolean;
}

export interface ContextManifest {
  readonly version: 1;
  readonly pageSize: number;
  /**
   * Tokens of the whole packed context: the caller's leading tokens (e.g. BOS) and every framed file. The question
   * and its prompt framing are appended after this by the caller, so the whole packed context is a reusable prefix.
   */
  readonly totalTokens: number;
  /** Leading tokens before the first file (e.g. BOS); the first file starts at this position. */
  readonly leadingTokens: number;
  /** Files in context order (see fileOrder.ts); tokenStart increases along the list. */
  readonly files: readonly FileSpan[];
  readonly skipped: readonly SkippedFile[];
}
