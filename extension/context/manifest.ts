// The context manifest: which token ranges of the packed context came from which file and lines, and so which KV
// pages. Made by the packer, read by the webview, the CLI and citation mapping. No vscode import: the CLI uses it.

/** One file's span of the packed context. Token ranges are half-open [start, end). */
export interface FileSpan {
  /** Workspace-relative path with forward slashes, as shown in the file's header line. */
  readonly path: string;
  /** Index of the workspace folder the file belongs to (multi-root workspaces). */
  readonly folder: number;
  /** First token of the span (the header line included). */
  readonly tokenStart: number;
  readonly tokenEnd: number;
  /**
   * (lines of the file + 1) token offset, relative to tokenStart, where each line's first token begins; the last
   * entry is the span's end. Line n (1-based) covers tokens [lineStarts[n-1], lineStarts[n]) after the header.
   */
  readonly lineTokenStarts: readonly number[];
  /** Tokens of the header line that frames the file; line 1 starts at tokenStart + headerTokens. */
  readonly headerTokens: number;
  /** sha256 of the file's bytes, hex: the persisted KV cache is keyed by these. */
  readonly sha256: string;
}

/** What was left out of the context and why; shown to the user. */
export interface SkippedFile {
  readonly path: string;
  readonly reason: 'binary' | 'too-large' | 'minified' | 'lock-file' | 'unreadable' | 'excluded' | 'over-budget' | 'symlink-loop';
  readonly detail?: string;
}

export interface ContextManifest {
  readonly version: 1;
  readonly pageSize: number;
  /** Tokens of the whole packed context, the prompt's framing included. */
  readonly totalTokens: number;
  readonly files: readonly FileSpan[];
  readonly skipped: readonly SkippedFile[];
}
