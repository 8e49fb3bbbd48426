// Where an 'editor/open' from a webview may lead. The path comes from model output or a heatmap click, so it is
// untrusted: it must name a file inside one of the workspace folders. Absolute paths, `..` segments, drive letters,
// UNC paths and symlinks that leave the folder are refused. Pure (the file system is passed in) so that it is
// unit-tested (test/unit/extensionOpenTarget.test.ts); openEditor.ts does the opening.
import { isAbsolute, posix, relative, sep } from 'node:path';
import { OpenTargetError } from '../errors';

export interface FolderRoot {
  readonly name: string;
  /** Absolute file-system path of the workspace folder. */
  readonly path: string;
}

export interface OpenRequest {
  readonly path: string;
  readonly line: number;
  readonly endLine?: number;
  readonly folder?: number;
}

export interface ResolvedTarget {
  readonly folder: number;
  readonly absPath: string;
  /** 1-based, ≥ 1. */
  readonly line: number;
  /** 1-based, inclusive, ≥ line. */
  readonly endLine: number;
}

/** The file-system questions resolution asks; `realpath` resolves symlinks (throws when the path does not exist). */
export interface TargetFs {
  isFile(absPath: string): boolean;
  realpath(absPath: string): string;
}

/**
 * Resolves a request. With `folder`, `path` is relative to that folder. Without it, a leading segment naming a
 * workspace folder picks that folder (`<folder name>/src/a.ts`, the manifest's header form), else the first folder
 * that has the file. Throws OpenTargetError naming the path and why it was refused.
 */
export function resolveOpenTarget(req: OpenRequest, folders: readonly FolderRoot[], fs: TargetFs): ResolvedTarget {
  const rel = checkRelative(req.path);
  const lines = lineRange(req.line, req.endLine);
  const inFolder = (index: number, relPath: string): ResolvedTarget | undefined => {
    const root = folders[index];
    if (!root) return undefined;
    const absPath = joinInside(root.path, relPath);
    if (!fs.isFile(absPath)) return undefined;
    if (!insideAfterLinks(root.path, absPath, fs)) {
      throw new OpenTargetError(`Quest Lens did not open ${JSON.stringify(req.path)}: it is a link to a file outside the workspace folder ${root.name}`);
    }
    return { folder: index, absPath, ...lines };
  };

  if (req.folder !== undefined) {
    if (!Number.isInteger(req.folder) || req.folder < 0 || req.folder >= folders.length) {
      throw new OpenTargetError(`Quest Lens did not open ${JSON.stringify(req.path)}: workspace folder ${req.folder} does not exist (there are ${folders.length})`);
    }
    const hit = inFolder(req.folder, rel);
    if (hit) return hit;
    throw new OpenTargetError(`Quest Lens did not open ${rel}: there is no such file in the workspace folder ${folders[req.folder].name}`);
  }

  const [first, ...rest] = rel.split('/');
  if (rest.length > 0) {
    for (let i = 0; i < folders.length; i++) {
      if (folders[i].name !== first) continue;
      const hit = inFolder(i, rest.join('/'));
      if (hit) return hit;
    }
  }
  for (let i = 0; i < folders.length; i++) {
    const hit = inFolder(i, rel);
    if (hit) return hit;
  }
  throw new OpenTargetError(
    folders.length === 0
      ? `Quest Lens did not open ${rel}: no workspace folder is open`
      : `Quest Lens did not open ${rel}: no workspace folder (${folders.map((f) => f.name).join(', ')}) has such a file`,
  );
}

/** The path with forward slashes, no leading `./`; throws unless it is a plain relative path that stays inside. */
function checkRelative(path: string): string {
  const refuse = (why: string) => new OpenTargetError(`Quest Lens did not open ${JSON.stringify(path)}: ${why}`);
  if (typeof path !== 'string' || path.trim() === '') throw refuse('the path is empty');
  if (path.includes('\0')) throw refuse('the path contains a NUL character');
  const slashed = path.trim().replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[a-zA-Z]:/.test(slashed) || isAbsolute(path)) {
    throw refuse('absolute paths are refused; only files inside a workspace folder can be opened');
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(slashed)) throw refuse('URIs are refused; only files inside a workspace folder can be opened');
  const segments = slashed.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw refuse('".." is refused; only files inside a workspace folder can be opened');
  if (segments.length === 0) throw refuse('the path names no file');
  return segments.join('/');
}

function lineRange(line: number, endLine: number | undefined): { line: number; endLine: number } {
  const l = Number.isFinite(line) ? Math.max(1, Math.floor(line)) : 1;
  const e = endLine !== undefined && Number.isFinite(endLine) ? Math.max(l, Math.floor(endLine)) : l;
  return { line: l, endLine: e };
}

/** Joins a checked relative path under `root`; the result is inside `root` by construction, checked once more. */
function joinInside(root: string, rel: string): string {
  const abs = `${root.replace(/[\\/]+$/, '')}${sep}${rel.split('/').join(sep)}`;
  if (!isInside(root, abs)) throw new OpenTargetError(`Quest Lens did not open ${rel}: it resolves outside ${root}`);
  return abs;
}

function insideAfterLinks(root: string, abs: string, fs: TargetFs): boolean {
  try {
    return isInside(fs.realpath(root), fs.realpath(abs));
  } catch {
    return false;
  }
}

function isInside(root: string, abs: string): boolean {
  const r = relative(root, abs);
  return r !== '' && r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r) && !posix.isAbsolute(r);
}
