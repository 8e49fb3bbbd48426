// Citations of an answer, and how the answer's page selection spreads over the files.
//  - 'answer': `file:line` references the answer writes (parsed as the webview parses them, fileRefs.ts) that resolve
//    to a file of the context and to lines it has.
//  - 'attention': the context pages the answer's tokens paid the most attention to (Engine.attentionMass: softmax
//    weights summed over the answer's decodeSteps, the last layers and every query head; dense or quest; keys of the
//    question and the answer not counted, so the page the context shares with the question holds only its context
//    keys' share), mapped through the manifest to file and line range. Works for every model; `npm run eval` scores
//    it (issue 10).
// The selection counts (quest mode: how often each page was selected) describe where the selection went per file.
import { ManifestIndex } from '../../extension/context/pageMap';
import type { ContextManifest } from '../../extension/context/manifest';
import { findFileRefs, resolveRefPath } from '../../webview/markdown/fileRefs';
import type { AnswerCitation, AttentionCitation } from '../protocol';
import type { TraceStep } from '../trace';

/** Pages cited from attention, at most (fewer citations when their ranges merge). */
export const attentionCitationCount = 3;

/** One file's share of the answer's page selection. */
export interface FileSelection {
  /** Header path `<folder name>/<path>`. */
  readonly path: string;
  readonly folder: number;
  readonly relPath: string;
  /** Distinct pages holding tokens of this file that were selected at least once. */
  readonly pages: number;
  /** Selections of those pages (steps × sparse layers × KV heads); a page shared by two files counts for both. */
  readonly selections: number;
}

/** `file:line` references in `answer` that resolve to a context file and to lines inside it, in order, deduplicated. */
export function answerCitations(answer: string, manifest: ContextManifest): AnswerCitation[] {
  const out: AnswerCitation[] = [];
  const seen = new Set<string>();
  for (const ref of findFileRefs(answer)) {
    const resolved = resolveRefPath(ref.path, manifest.files);
    if (resolved?.folder === undefined) continue;
    const span = manifest.files.find((f) => f.folder === resolved.folder && f.relPath === resolved.path);
    if (!span) continue;
    const lines = span.lineTokenStarts.length - 1;
    if (ref.line > lines) continue;
    const endLine = Math.min(ref.endLine ?? ref.line, lines);
    const key = `${span.folder}\0${span.relPath}\0${ref.line}\0${endLine}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ folder: span.folder, path: span.relPath, line: ref.line, endLine, source: 'answer' });
  }
  return out;
}

/**
 * (pages of the context) how often each context page was selected over `steps`, the step's own last page excluded.
 * A step whose cache had no more pages than `pageBudget` read them all and tells nothing: it is not counted; nor is
 * a list longer than the budget (the first token's step, chosen by the dense prefill, lists every page). All zero in
 * dense mode (steps list no pages).
 */
export function pageSelectionCounts(steps: readonly TraceStep[], manifest: ContextManifest, pageBudget: number): Float64Array {
  const index = new ManifestIndex(manifest);
  const counts = new Float64Array(index.pageCount); // (context pages)
  for (const step of steps) {
    const last = Math.floor(step.position / manifest.pageSize);
    if (last + 1 <= pageBudget) continue;
    for (const heads of step.pages) {
      for (const pages of heads) {
        if (pages.length > pageBudget) continue;
        for (const p of pages) if (p !== last && p < counts.length) counts[p]++;
      }
    }
  }
  return counts;
}

/**
 * The `top` context pages with the most attention (`mass`: per page of the cache, Engine.attentionMass) as citations,
 * most attended first: each page cites the lines of the file with the most tokens in it (a page can straddle two
 * files); overlapping or touching ranges of one file merge, adding their pages and mass. `mass` is the cited pages'
 * share of the attention paid to the context's files. Pages past the context (question, answer) and pages without file
 * text (leading tokens) are never cited.
 */
export function attentionCitations(mass: ArrayLike<number>, manifest: ContextManifest, top = attentionCitationCount): AttentionCitation[] {
  const index = new ManifestIndex(manifest);
  const filePages: number[] = [];
  let total = 0;
  for (let p = 0; p < Math.min(index.pageCount, mass.length); p++) {
    if (!(mass[p] > 0) || index.pageContents(p).length === 0) continue;
    filePages.push(p);
    total += mass[p];
  }
  filePages.sort((a, b) => mass[b] - mass[a] || a - b);
  type Cited = { folder: number; path: string; line: number; endLine: number; pages: number[]; mass: number };
  let out: Cited[] = [];
  const touches = (a: Cited, b: Cited) => a.folder === b.folder && a.path === b.path && a.line <= b.endLine + 1 && a.endLine >= b.line - 1;
  for (const page of filePages.slice(0, top)) {
    const range = citedRange(index, page);
    if (!range) continue;
    let cited: Cited = { ...range, pages: [page], mass: mass[page] };
    // Fold in every citation of the same file it touches (a new range can bridge two).
    for (const c of out.filter((c) => touches(c, cited))) {
      cited = { ...cited, line: Math.min(c.line, cited.line), endLine: Math.max(c.endLine, cited.endLine), pages: [...c.pages, ...cited.pages], mass: c.mass + cited.mass };
    }
    out = [...out.filter((c) => !touches(c, cited)), cited];
  }
  return out
    .sort((a, b) => b.mass - a.mass || a.pages[0] - b.pages[0])
    .map((c) => ({ ...c, pages: c.pages.sort((a, b) => mass[b] - mass[a] || a - b), mass: c.mass / total, source: 'attention' as const }));
}

/** The lines a page cites: those of the file with the most tokens in it; undefined when that file is empty. */
function citedRange(index: ManifestIndex, page: number): { folder: number; path: string; line: number; endLine: number } | undefined {
  const r = index.pageContents(page).sort((a, b) => b.tokenEnd - b.tokenStart - (a.tokenEnd - a.tokenStart))[0];
  if (!r) return undefined;
  const lines = index.manifest.files[r.file].lineTokenStarts.length - 1;
  if (lines === 0) return undefined; // an empty file: only its header is in the page
  // Line 0 is the `// File:` header: cite the file's first line instead.
  const line = Math.min(Math.max(r.firstLine, 1), lines);
  return { folder: r.folder, path: r.relPath, line, endLine: Math.min(Math.max(r.lastLine, line), lines) };
}

/** Per file: the selected pages holding its tokens and their selections, most selected first. */
export function pagesSelectedPerFile(counts: Float64Array, manifest: ContextManifest): FileSelection[] {
  const index = new ManifestIndex(manifest);
  const byFile = new Map<number, { pages: number; selections: number }>();
  counts.forEach((n, page) => {
    if (n <= 0) return;
    for (const r of index.pageContents(page)) {
      const f = byFile.get(r.file) ?? { pages: 0, selections: 0 };
      f.pages++;
      f.selections += n;
      byFile.set(r.file, f);
    }
  });
  return [...byFile.entries()]
    .map(([file, s]) => {
      const span = manifest.files[file];
      return { path: span.path, folder: span.folder, relPath: span.relPath, ...s };
    })
    .sort((a, b) => b.selections - a.selections || a.path.localeCompare(b.path));
}
