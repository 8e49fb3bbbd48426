// Citations of an answer, and how the answer's page selection spreads over the files.
//  - 'answer': `file:line` references the answer writes (parsed as the webview parses them, fileRefs.ts) that resolve
//    to a file of the context and to lines it has.
//  - 'pages': in quest mode, the context pages the answer's decode steps selected most often (every sparse layer and
//    KV head of every step counts one; the step's own last page, which is always read, does not; nor do steps whose
//    budget covered every page), mapped through the manifest to file and line range. Dense decoding reads every page, so it yields none: citing from attention mass
//    is a separate piece of work and is not faked here.
import { ManifestIndex } from '../../extension/context/pageMap';
import type { ContextManifest } from '../../extension/context/manifest';
import { findFileRefs, resolveRefPath } from '../../webview/markdown/fileRefs';
import type { Citation } from '../protocol';
import type { TraceStep } from '../trace';

/** Pages cited from the selection, at most (fewer citations when their ranges merge). */
export const pageCitationCount = 3;

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
export function answerCitations(answer: string, manifest: ContextManifest): Citation[] {
  const out: Citation[] = [];
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
 * The `top` most selected pages as citations (file and line range; a page straddling two files cites the one with
 * more tokens in it), most selected first; overlapping or touching ranges of one file are merged.
 */
export function pageCitations(counts: Float64Array, manifest: ContextManifest, top = pageCitationCount): Citation[] {
  const index = new ManifestIndex(manifest);
  const ranked = Array.from(counts.keys())
    .filter((p) => counts[p] > 0)
    .sort((a, b) => counts[b] - counts[a] || a - b);
  const out: { folder: number; path: string; line: number; endLine: number }[] = [];
  for (const page of ranked.slice(0, top)) {
    // The file with the most tokens in the page (a page can straddle two files).
    const ranges = index.pageContents(page).sort((a, b) => b.tokenEnd - b.tokenStart - (a.tokenEnd - a.tokenStart));
    const r = ranges[0];
    if (!r) continue;
    const lines = manifest.files[r.file].lineTokenStarts.length - 1;
    if (lines === 0) continue; // an empty file: only its header is in the page
    // Line 0 is the `// File:` header: cite the file's first line instead.
    const line = Math.min(Math.max(r.firstLine, 1), lines);
    const endLine = Math.min(Math.max(r.lastLine, line), lines);
    const same = out.find((c) => c.folder === r.folder && c.path === r.relPath && line <= c.endLine + 1 && endLine >= c.line - 1);
    if (same) {
      same.line = Math.min(same.line, line);
      same.endLine = Math.max(same.endLine, endLine);
    } else {
      out.push({ folder: r.folder, path: r.relPath, line, endLine });
    }
  }
  return out.map((c) => ({ ...c, source: 'pages' as const }));
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
