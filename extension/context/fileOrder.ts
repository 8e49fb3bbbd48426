// The order files take in the packed context.
//
// The persisted KV cache reuses the prefix of the context up to the first file whose bytes changed, so the order
// should put files that change rarely first and files that change often last. Default 'mtime': modification time
// ascending (whole seconds), ties by folder index then path (segment by segment, so a folder's files stay together).
// Why: editing a file gives it the newest mtime and moves it to the end. The first edit of a file costs the cache
// from that file's old position on (as any order would); every later edit of the same file, the usual working
// pattern, costs only the files edited since, which are all at the tail. A fresh clone has near-equal mtimes, and
// the order is then the path order. Trade-offs: the order depends on mtimes, so two clones of one commit can differ
// (identical trees with identical mtimes give identical orders); a tool that touches many files without changing
// them (a formatter, a branch switch and back) reorders them and costs a re-prefill; related files may be far
// apart, which the model does not mind (retrieval accuracy did not depend on distance: default-model-findings.md).
// Alternative 'path': folder index then path. Independent of mtimes and the same on every machine, but an edit to
// an early file (`a/…`) invalidates everything after it, on every edit.
import type { FileEntry } from './collectFiles';

export type FileOrder = 'mtime' | 'path';

/** Compares folder-relative paths segment by segment (code-unit order within a segment). */
export function comparePaths(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    if (as[i] !== bs[i]) {
      // A file and a folder at the same level: compare names; equal names cannot happen in one folder.
      return as[i] < bs[i] ? -1 : 1;
    }
  }
  return as.length - bs.length;
}

/** Sorts entries in place into context order; deterministic for the same entries. */
export function sortForContext(entries: FileEntry[], order: FileOrder): FileEntry[] {
  const byPath = (a: FileEntry, b: FileEntry) => a.folder - b.folder || comparePaths(a.relPath, b.relPath);
  if (order === 'path') return entries.sort(byPath);
  return entries.sort((a, b) => Math.floor(a.mtimeMs / 1000) - Math.floor(b.mtimeMs / 1000) || byPath(a, b));
}
