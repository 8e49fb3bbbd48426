// `file:line` references in model output: the only links an answer may contain. Pure (no DOM).
// Accepted: `src/a.ts:12`, `src/a.ts:12-20`, `src/a.ts:12:5` (column ignored), `src/a.ts#L12`, `src/a.ts#L12-L20`.
// Paths are workspace-relative: no leading '/', no '..' segment, no scheme, and the last segment has an extension.

/** A reference found in text; `start`/`end` are offsets into that text. */
export interface FileRef {
  readonly path: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based inclusive, ≥ line, when a range was given. */
  readonly endLine?: number;
  readonly start: number;
  readonly end: number;
}

// A path is segments of [\w.@+-] joined by '/', ending in name.ext; then :line[-line][:col] or #Lline[-Lline].
// The lookbehind keeps it from starting inside a longer word, URL or absolute path.
const REF =
  /(?<![\w./@+:-])((?:[\w@+-][\w.@+-]*\/)*[\w@+-][\w.@+-]*\.[A-Za-z0-9_]+)(?::(\d{1,7})(?:[-–](\d{1,7}))?(?::\d{1,5})?|#L(\d{1,7})(?:-L?(\d{1,7}))?)(?![\w/])/g;

/** Every file reference in `text`, in order. */
export function findFileRefs(text: string): FileRef[] {
  const out: FileRef[] = [];
  for (const m of text.matchAll(REF)) {
    const path = m[1];
    if (path.split('/').some((seg) => seg === '..' || seg === '.')) continue;
    const line = Number(m[2] ?? m[4]);
    const endText = m[3] ?? m[5];
    if (!(line >= 1)) continue;
    const endLine = endText !== undefined ? Number(endText) : undefined;
    const start = m.index;
    const ref: FileRef = {
      path,
      line,
      start,
      end: start + m[0].length,
      ...(endLine !== undefined && endLine >= line ? { endLine } : {}),
    };
    out.push(ref);
  }
  return out;
}

/** The whole of `text` as one reference (a markdown link target), or undefined. */
export function parseFileRefTarget(text: string): Omit<FileRef, 'start' | 'end'> | undefined {
  const refs = findFileRefs(text.trim());
  const ref = refs[0];
  if (refs.length !== 1 || ref.start !== 0 || ref.end !== text.trim().length) return undefined;
  const { start: _s, end: _e, ...rest } = ref;
  return rest;
}

/** The fields of a manifest FileSpan that resolution needs. */
export interface KnownFile {
  /** Header path: `<folder name>/<path inside the folder>`. */
  readonly path: string;
  readonly relPath: string;
  readonly folder: number;
}

/** Where a reference points: a manifest file (folder + relPath), or, with no manifest, the path as written. */
export interface ResolvedRef {
  /** The header path to show (the path as written when unresolved). */
  readonly display: string;
  /** What 'editor/open' carries: relPath when `folder` is set, else the path as written. */
  readonly path: string;
  readonly folder?: number;
}

/**
 * Resolves a referenced path against the context's files: the header path, else a unique relPath, else the one file
 * whose header path ends with '/' + the reference. Undefined when no file (or more than one) matches. With no known
 * files (no manifest yet) the path is kept as written; the host checks it is inside the workspace either way.
 */
export function resolveRefPath(path: string, known: readonly KnownFile[] | undefined): ResolvedRef | undefined {
  if (!known || known.length === 0) return { display: path, path };
  const pick = (f: KnownFile): ResolvedRef => ({ display: f.path, path: f.relPath, folder: f.folder });
  const exact = known.find((f) => f.path === path);
  if (exact) return pick(exact);
  const rel = known.filter((f) => f.relPath === path);
  if (rel.length === 1) return pick(rel[0]);
  const suffix = `/${path}`;
  const hits = known.filter((f) => f.path.endsWith(suffix));
  return hits.length === 1 ? pick(hits[0]) : undefined;
}
