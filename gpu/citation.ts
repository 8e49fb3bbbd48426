// What an answer cites: the shape the engine process sends (answer/didFinish), `quest-lens ask --json` prints (with
// `file` for `path`), the eval reads and the chat view shows. Types only, no imports: the webview bundle uses them.

/** Lines of a workspace file an answer cites (1-based, inclusive). */
export interface CitedLines {
  /** Workspace folder index (manifest FileSpan.folder) and the path inside it (FileSpan.relPath), forward slashes. */
  readonly folder: number;
  readonly path: string;
  readonly line: number;
  readonly endLine: number;
}

/** A `file:line` the answer wrote that resolves to lines of a context file. */
export interface AnswerCitation extends CitedLines {
  readonly source: 'answer';
}

/**
 * Where the answer's attention went: the context pages its tokens paid the most attention to (softmax weights summed
 * over the answer's decodeSteps, the last layers (4 by default) and every query head, position 0 excluded; dense or
 * quest), as the lines of the file with the most tokens in them. Most attended first; `line` is the first line.
 */
export interface AttentionCitation extends CitedLines {
  readonly source: 'attention';
  /** The KV pages (context order) merged into this citation, most attended first. */
  readonly pages: readonly number[];
  /** Those pages' share (0..1) of all the attention the answer paid to the context's files. */
  readonly mass: number;
}

/** Answer citations first (in the answer's order), then attention citations. */
export type Citation = AnswerCitation | AttentionCitation;
