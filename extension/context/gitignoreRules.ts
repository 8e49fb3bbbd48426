// .gitignore rules as git applies them: each .gitignore file matches paths relative to its own folder; a deeper file
// overrides a shallower one (the deepest file with a matching rule decides, and within a file the last matching rule
// decides, `!negation` included); .git/info/exclude has the lowest precedence. A folder that is ignored is never
// entered, so, as in git, `!` cannot re-include a file inside an ignored folder. The workspace folder may sit inside
// a repository: the .gitignore files of its ancestors up to the repository root apply too. A nested repository
// (a folder with its own `.git`) starts fresh, as git does not apply the outer rules inside it. Not read:
// core.excludesFile (the user's global ignore file), which depends on the user's git config, not the workspace.
import ignore, { type Ignore } from 'ignore';
import { dirname, join, relative, sep } from 'node:path';
import { errorCode, type ReaderFs } from './readerFs';

/** One ignore file's rules and where they apply. */
export interface IgnoreFrame {
  readonly rules: Ignore;
  /** Where the rules came from, for SkippedFile.detail: e.g. `src/.gitignore`, `.git/info/exclude`. */
  readonly source: string;
  /** Folder-relative directory the file sits in ('' for the workspace folder or above it). */
  readonly base: string;
  /** For files above the workspace folder: the path from their directory down to the folder, ending in '/'. */
  readonly up: string;
}

export interface IgnoreVerdict {
  readonly source: string;
  readonly pattern: string;
}

/**
 * Whether `relPath` (folder-relative, forward slashes) is ignored by `frames` (shallowest first). Directories are
 * tested with a trailing slash so that `build/` patterns match them.
 */
export function gitIgnored(frames: readonly IgnoreFrame[], relPath: string, isDir: boolean): IgnoreVerdict | undefined {
  for (let f = frames.length - 1; f >= 0; f--) {
    const frame = frames[f];
    if (frame.base !== '' && !relPath.startsWith(`${frame.base}/`)) continue;
    const inFrame = frame.up + (frame.base === '' ? relPath : relPath.slice(frame.base.length + 1));
    const result = frame.rules.test(isDir ? `${inFrame}/` : inFrame);
    if (result.ignored) return { source: frame.source, pattern: result.rule?.pattern ?? '?' };
    if (result.unignored) return undefined;
  }
  return undefined;
}

/** Parses one ignore file's text into a frame. */
export function ignoreFrame(text: string, source: string, base: string, up: string, caseInsensitive: boolean): IgnoreFrame {
  return { rules: ignore({ ignorecase: caseInsensitive }).add(text), source, base, up };
}

/** Ignore files larger than this are skipped (the largest real ones are a few KB; a named pipe is never read). */
export const MAX_IGNORE_FILE_BYTES = 1 << 20;

/** Reads a file's text, or undefined when it does not exist or cannot be read (an unreadable ignore file is skipped). */
async function readText(fs: ReaderFs, path: string): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await fs.readFile(path, MAX_IGNORE_FILE_BYTES));
  } catch {
    return undefined;
  }
}

/** The folder holding a repository's info/exclude, from the `.git` entry (a folder, or a file `gitdir: <path>`). */
async function gitCommonDir(fs: ReaderFs, dotGit: string): Promise<string | undefined> {
  let gitDir = dotGit;
  try {
    const stat = await fs.stat(dotGit);
    if (stat.isFile()) {
      const pointer = /^gitdir:\s*(.+?)\s*$/m.exec((await readText(fs, dotGit)) ?? '');
      if (!pointer) return undefined;
      gitDir = join(dirname(dotGit), pointer[1]);
    }
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  // Worktrees keep info/exclude in the main repository's folder, named by `commondir`.
  const common = (await readText(fs, join(gitDir, 'commondir')))?.trim();
  return common ? join(gitDir, common) : gitDir;
}

/** The info/exclude frame of the repository whose `.git` is in `repoDir`, if it has one. */
export async function infoExcludeFrame(
  fs: ReaderFs,
  repoDir: string,
  base: string,
  up: string,
  caseInsensitive: boolean,
): Promise<IgnoreFrame | undefined> {
  const common = await gitCommonDir(fs, join(repoDir, '.git'));
  if (!common) return undefined;
  const text = await readText(fs, join(common, 'info', 'exclude'));
  if (text === undefined) return undefined;
  const where = base === '' ? '' : `${base}/`;
  return ignoreFrame(text, `${where}.git/info/exclude`, base, up, caseInsensitive);
}

async function exists(fs: ReaderFs, path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The frames that apply at the workspace folder's root before its own .gitignore: info/exclude of the repository
 * that contains the folder, then the .gitignore files of the folders between the repository root and the workspace
 * folder (shallowest first). Empty when the folder is in no repository.
 */
export async function ancestorFrames(fs: ReaderFs, folderReal: string, caseInsensitive: boolean): Promise<IgnoreFrame[]> {
  let repoRoot: string | undefined;
  for (let dir = folderReal; ; dir = dirname(dir)) {
    if (await exists(fs, join(dir, '.git'))) {
      repoRoot = dir;
      break;
    }
    if (dirname(dir) === dir) break;
  }
  if (repoRoot === undefined) return [];
  const toFolder = relative(repoRoot, folderReal).split(sep).join('/');
  const up = toFolder === '' ? '' : `${toFolder}/`;
  const frames: IgnoreFrame[] = [];
  const exclude = await infoExcludeFrame(fs, repoRoot, '', up, caseInsensitive);
  if (exclude) frames.push({ ...exclude, source: toFolder === '' ? exclude.source : `${'../'.repeat(toFolder.split('/').length)}.git/info/exclude` });
  if (toFolder === '') return frames;
  // .gitignore files strictly above the workspace folder, repository root first.
  const segments = toFolder.split('/');
  for (let depth = 0; depth < segments.length; depth++) {
    const dir = join(repoRoot, ...segments.slice(0, depth));
    const text = await readText(fs, join(dir, '.gitignore'));
    if (text === undefined) continue;
    const below = segments.slice(depth).join('/');
    frames.push(ignoreFrame(text, `${'../'.repeat(segments.length - depth)}.gitignore`, '', `${below}/`, caseInsensitive));
  }
  return frames;
}
