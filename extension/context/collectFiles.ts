// Walks the workspace folders and lists the files that may go into the context, in context order, with every file
// or folder it left out and why. Reads only names, stats and ignore files: contents are read later, one file at a
// time, by the packer. The walk is an async generator over an explicit folder stack, so a 100,000-file tree holds
// one FileEntry per kept file and nothing else.
//
// What decides, in order (the first rule that applies wins):
//  1. The extension's own `exclude` globs: always.
//  2. A path that an `include` glob spells out in its leading literal segments (`node_modules/left-pad/**` spells
//     out `node_modules` and `node_modules/left-pad`) skips rules 3–5 and the name checks of rule 7, so a user can
//     bring in one package from a skipped folder. Inside a spelled-out folder that rules 3–5 would have skipped, the
//     ignore files above it and the exclude settings stop applying (its own .gitignore files and the default skip
//     list still do), as if it were a workspace folder of its own; elsewhere folders below follow the normal rules.
//  3. Folders named in DEFAULT_SKIP_DIRS (skipRules.ts) at any depth; `.git` always.
//  4. .gitignore files and .git/info/exclude (gitignoreRules.ts), unless `useGitignore` is false.
//  5. files.exclude and search.exclude (VS Code glob expressions, `when` sibling clauses included).
//  6. The `include` globs, when given: only matching files are kept; folders no include can reach are not entered.
//  7. File names: lock files, generated names (`*.min.js`, `*.map`, …), binary extensions; then the size cap.
// Symlinks: a link to a file inside a workspace folder is followed once (if the file is also reached at its real
// path, or by another link, it is kept once, under the first path in path order); a link to a file outside the
// workspace is left out. Links to folders are never followed: their files are walked at their real paths when inside
// the workspace, and following them is how walks loop; a link to a folder that contains it is reported as
// 'symlink-loop', as is a link chain the OS reports as ELOOP.
import { join, sep } from 'node:path';
import { ContextError } from './errors';
import { sortForContext, type FileOrder } from './fileOrder';
import { MAX_IGNORE_FILE_BYTES, ancestorFrames, gitIgnored, ignoreFrame, infoExcludeFrame, type IgnoreFrame } from './gitignoreRules';
import { GlobExpressionMatcher, globLiteralPrefix, globToRegExp, platformCaseInsensitive, type GlobExpression } from './globs';
import type { SkippedFile } from './manifest';
import { errorCode, nodeReaderFs, type FsDirent, type FsStats, type ReaderFs } from './readerFs';
import { DEFAULT_MAX_FILE_BYTES } from './readSource';
import { DEFAULT_SKIP_DIRS, skipByName } from './skipRules';

/** A workspace folder as VS Code (or the CLI's `--workspace DIR`) gives it. */
export interface WorkspaceFolderInput {
  readonly name: string;
  /** Absolute path on disk. */
  readonly path: string;
}

export interface CollectOptions {
  readonly folders: readonly WorkspaceFolderInput[];
  /** The extension's include globs; empty or absent: every file. */
  readonly include?: readonly string[];
  /** The extension's exclude globs; win over everything. */
  readonly exclude?: readonly string[];
  /** VS Code `files.exclude`, as read from the configuration. */
  readonly filesExclude?: GlobExpression;
  /** VS Code `search.exclude`, as read from the configuration. */
  readonly searchExclude?: GlobExpression;
  /** Honour .gitignore and .git/info/exclude (default true). */
  readonly useGitignore?: boolean;
  /** Folder names skipped at any depth (default DEFAULT_SKIP_DIRS); `.git` is skipped regardless. */
  readonly skipDirs?: readonly string[];
  /** Files over this many bytes are skipped as 'too-large' (default 1 MiB). */
  readonly maxFileBytes?: number;
  /** Context order (default 'mtime', see fileOrder.ts). */
  readonly order?: FileOrder;
  /** Glob and .gitignore case sensitivity (default: the platform's, as VS Code does). */
  readonly caseInsensitive?: boolean;
  readonly fs?: ReaderFs;
  /** Checked before every folder and every batch of stats; an abort rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called as the walk goes (after every entry it keeps or skips): a 100,000-file walk takes seconds. */
  readonly onProgress?: (found: { readonly files: number; readonly skipped: number }) => void;
}

/** One file that may go into the context. */
export interface FileEntry {
  /** Index into CollectOptions.folders. */
  readonly folder: number;
  /** Path inside the folder, forward slashes. */
  readonly relPath: string;
  /** `<folder name>/<relPath>`: the form of the header line and of SkippedFile.path. */
  readonly path: string;
  /** Where to read it (for a symlink, the link's path). */
  readonly absPath: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Set when the entry is a symlink: the workspace file it points to. */
  readonly linkTarget?: { readonly folder: number; readonly relPath: string };
}

export type WalkItem =
  | { readonly kind: 'file'; readonly entry: FileEntry }
  | { readonly kind: 'skipped'; readonly skipped: SkippedFile };

export interface CollectedFiles {
  /** In context order. */
  readonly files: FileEntry[];
  readonly skipped: SkippedFile[];
}

const STAT_BATCH = 64;

/** Walks and sorts: the files in context order and everything left out. */
export async function collectFiles(options: CollectOptions): Promise<CollectedFiles> {
  const files: FileEntry[] = [];
  const skipped: SkippedFile[] = [];
  for await (const item of walkFiles(options)) {
    if (item.kind === 'file') files.push(item.entry);
    else skipped.push(item.skipped);
    options.onProgress?.({ files: files.length, skipped: skipped.length });
  }
  const kept = dropDuplicateLinks(files, skipped);
  return { files: sortForContext(kept, options.order ?? 'mtime'), skipped };
}

/** Keeps each real file once: a link whose target is also listed (at its real path or by an earlier link) goes. */
function dropDuplicateLinks(files: FileEntry[], skipped: SkippedFile[]): FileEntry[] {
  const key = (folder: number, relPath: string) => `${folder}\0${relPath}`;
  const byKey = new Map<string, FileEntry>();
  for (const f of files) if (!f.linkTarget) byKey.set(key(f.folder, f.relPath), f);
  const links = sortForContext(files.filter((f) => f.linkTarget), 'path');
  const dropped = new Set<FileEntry>();
  for (const link of links) {
    const k = key(link.linkTarget!.folder, link.linkTarget!.relPath);
    const first = byKey.get(k);
    if (first) {
      dropped.add(link);
      skipped.push({ path: link.path, reason: 'excluded', detail: `symlink to ${first.path}, which is already included` });
    } else {
      byKey.set(k, link);
    }
  }
  return dropped.size === 0 ? files : files.filter((f) => !dropped.has(f));
}

interface DirTask {
  readonly abs: string;
  /** Folder-relative, '' for the folder itself. */
  readonly rel: string;
  readonly real: string;
  readonly frames: readonly IgnoreFrame[];
  /** Inside a folder an include spelled out past rules 3–5 (see folderVerdict). */
  readonly overridden: boolean;
}

/** Yields every kept file and every skip, folder by folder, in walk order (not context order). */
export async function* walkFiles(options: CollectOptions): AsyncGenerator<WalkItem> {
  const walker = new Walker(options);
  const roots = await walker.resolveRoots();
  for (let f = 0; f < options.folders.length; f++) yield* walker.walkFolder(f, roots);
}

class Walker {
  private readonly fs: ReaderFs;
  private readonly caseInsensitive: boolean;
  private readonly exclude: GlobExpressionMatcher;
  private readonly filesExclude: GlobExpressionMatcher;
  private readonly searchExclude: GlobExpressionMatcher;
  private readonly include: readonly RegExp[];
  /** Leading literal segments of each include glob. */
  private readonly includePrefixes: readonly string[];
  private readonly skipDirs: ReadonlySet<string>;
  private readonly maxFileBytes: number;
  private readonly displayNames: readonly string[];

  constructor(private readonly options: CollectOptions) {
    this.fs = options.fs ?? nodeReaderFs;
    this.caseInsensitive = options.caseInsensitive ?? platformCaseInsensitive;
    const globOptions = { caseInsensitive: this.caseInsensitive };
    this.exclude = new GlobExpressionMatcher(options.exclude, globOptions);
    this.filesExclude = new GlobExpressionMatcher(options.filesExclude, globOptions);
    this.searchExclude = new GlobExpressionMatcher(options.searchExclude, globOptions);
    const include = (options.include ?? []).filter((p) => p.trim() !== '');
    this.include = include.map((p) => globToRegExp(p, globOptions));
    this.includePrefixes = include.map(globLiteralPrefix);
    this.skipDirs = new Set(options.skipDirs ?? DEFAULT_SKIP_DIRS);
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (!(this.maxFileBytes > 0)) {
      throw new ContextError('options', `maxFileBytes must be > 0, got ${this.maxFileBytes}`);
    }
    // Display names must be unique for the header paths to be: a repeated name gets `~2`, `~3`.
    const seen = new Map<string, number>();
    this.displayNames = options.folders.map((folder) => {
      const n = (seen.get(folder.name) ?? 0) + 1;
      seen.set(folder.name, n);
      return n === 1 ? folder.name : `${folder.name}~${n}`;
    });
  }

  /** Real paths of the workspace folders (symlink targets are placed by them). */
  async resolveRoots(): Promise<string[]> {
    return Promise.all(
      this.options.folders.map(async (folder) => {
        try {
          const real = await this.fs.realpath(folder.path);
          if (!(await this.fs.stat(real)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
          return real;
        } catch (error) {
          throw new ContextError(
            'workspace-folder',
            `workspace folder "${folder.name}" at ${folder.path} cannot be read (${errorCode(error)}): check that it exists and is a directory`,
          );
        }
      }),
    );
  }

  private display(folder: number, rel: string): string {
    return `${this.displayNames[folder]}/${rel}`;
  }

  private skip(folder: number, rel: string, reason: SkippedFile['reason'], detail: string): WalkItem {
    return { kind: 'skipped', skipped: { path: this.display(folder, rel), reason, detail } };
  }

  /** True when an include glob's literal prefix runs through `rel` (rule 2). */
  private spelledOut(rel: string): boolean {
    return this.includePrefixes.some((p) => p !== '' && (p === rel || p.startsWith(`${rel}/`)));
  }

  /** True when some include glob may match a path at or below folder `rel`. */
  private includeReaches(rel: string): boolean {
    if (this.include.length === 0) return true;
    return this.includePrefixes.some((p) => p === '' || p === rel || p.startsWith(`${rel}/`) || rel.startsWith(`${p}/`));
  }

  /** Rules 3–5 for a folder: why they skip it, or undefined. */
  private folderRules(rel: string, name: string, frames: readonly IgnoreFrame[], siblings: ReadonlySet<string>, overridden: boolean): string | undefined {
    if (this.skipDirs.has(name)) return `default skip list ("${name}")`;
    const ignored = this.options.useGitignore === false ? undefined : gitIgnored(frames, rel, true);
    if (ignored) return `${ignored.source}: ${ignored.pattern}`;
    if (overridden) return undefined;
    const filesExcluded = this.filesExclude.match(rel, siblings);
    if (filesExcluded) return `files.exclude "${filesExcluded}"`;
    const searchExcluded = this.searchExclude.match(rel, siblings);
    if (searchExcluded) return `search.exclude "${searchExcluded}"`;
    return undefined;
  }

  /**
   * Why a folder is not entered, or how: `override` when an include spells it out although rules 3–5 would skip it.
   * Inside such a folder the rules that skipped it stop: the ignore files above it and the VS Code exclude settings
   * no longer apply (its own .gitignore files do), as if it were a workspace folder of its own.
   */
  private folderVerdict(
    rel: string,
    name: string,
    dir: DirTask,
    siblings: ReadonlySet<string>,
  ): { readonly skip: string } | { readonly skip?: undefined; readonly override: boolean } {
    const excluded = this.exclude.match(rel, siblings);
    if (excluded) return { skip: `exclude glob "${excluded}"` };
    if (name === '.git') return { skip: 'version-control folder' };
    const rules = this.folderRules(rel, name, dir.frames, siblings, dir.overridden);
    if (this.spelledOut(rel)) return { override: rules !== undefined };
    if (rules) return { skip: rules };
    if (!this.includeReaches(rel)) return { skip: 'outside the include globs' };
    return { override: false };
  }

  /** Why a file (or a symlink, judged by its own path) is left out before its stat, or undefined. */
  private fileVerdict(
    rel: string,
    name: string,
    dir: DirTask,
    siblings: ReadonlySet<string>,
  ): { reason: SkippedFile['reason']; detail: string } | undefined {
    const excluded = this.exclude.match(rel, siblings);
    if (excluded) return { reason: 'excluded', detail: `exclude glob "${excluded}"` };
    if (name === '.git') return { reason: 'excluded', detail: 'version-control link file' };
    const spelled = this.spelledOut(rel);
    if (!spelled) {
      const ignored = this.options.useGitignore === false ? undefined : gitIgnored(dir.frames, rel, false);
      if (ignored) return { reason: 'excluded', detail: `${ignored.source}: ${ignored.pattern}` };
    }
    if (!spelled && !dir.overridden) {
      const filesExcluded = this.filesExclude.match(rel, siblings);
      if (filesExcluded) return { reason: 'excluded', detail: `files.exclude "${filesExcluded}"` };
      const searchExcluded = this.searchExclude.match(rel, siblings);
      if (searchExcluded) return { reason: 'excluded', detail: `search.exclude "${searchExcluded}"` };
    }
    if (this.include.length > 0 && !this.include.some((r) => r.test(rel))) {
      return { reason: 'excluded', detail: 'not matched by the include globs' };
    }
    if (!spelled) return skipByName(name);
    return undefined;
  }

  async *walkFolder(folder: number, roots: readonly string[]): AsyncGenerator<WalkItem> {
    const signal = this.options.signal;
    const root = this.options.folders[folder];
    const gitFrames = this.options.useGitignore === false ? [] : await ancestorFrames(this.fs, roots[folder], this.caseInsensitive);
    const stack: DirTask[] = [{ abs: root.path, rel: '', real: roots[folder], frames: gitFrames, overridden: false }];
    while (stack.length > 0) {
      signal?.throwIfAborted();
      const dir = stack.pop()!;
      let dirents: FsDirent[];
      try {
        dirents = [...(await this.fs.readdir(dir.abs))].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      } catch (error) {
        if (dir.rel === '') {
          throw new ContextError('workspace-folder', `workspace folder "${root.name}" at ${root.path} cannot be listed (${errorCode(error)})`);
        }
        yield this.skip(folder, `${dir.rel}/`, 'unreadable', `folder cannot be listed: ${errorCode(error)}`);
        continue;
      }
      const siblings = new Set(dirents.map((d) => d.name));
      const here: DirTask = { ...dir, frames: await this.framesFor(dir, siblings) };
      const subdirs: DirTask[] = [];
      const toStat: FsDirent[] = [];
      for (const d of dirents) {
        const rel = dir.rel === '' ? d.name : `${dir.rel}/${d.name}`;
        if (d.isDirectory()) {
          const verdict = this.folderVerdict(rel, d.name, here, siblings);
          if (verdict.skip !== undefined) yield this.skip(folder, `${rel}/`, 'excluded', verdict.skip);
          else {
            const abs = join(dir.abs, d.name);
            const overridden = here.overridden || verdict.override;
            subdirs.push({ abs, rel, real: join(dir.real, d.name), frames: verdict.override ? [] : here.frames, overridden });
          }
          continue;
        }
        const verdict = this.fileVerdict(rel, d.name, here, siblings);
        if (verdict) yield this.skip(folder, rel, verdict.reason, verdict.detail);
        else toStat.push(d);
      }
      for (let i = 0; i < toStat.length; i += STAT_BATCH) {
        signal?.throwIfAborted();
        const batch = toStat.slice(i, i + STAT_BATCH);
        const items = await Promise.all(batch.map((d) => this.statEntry(folder, dir, d, roots)));
        for (const item of items) yield item;
      }
      for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
    }
  }

  /** The ignore frames that apply inside `dir`: a nested repository starts fresh; its .gitignore is added. */
  private async framesFor(dir: DirTask, siblings: ReadonlySet<string>): Promise<readonly IgnoreFrame[]> {
    if (this.options.useGitignore === false) return dir.frames;
    let frames = dir.frames;
    if (dir.rel !== '' && siblings.has('.git')) {
      const exclude = await infoExcludeFrame(this.fs, dir.abs, dir.rel, '', this.caseInsensitive);
      frames = exclude ? [exclude] : [];
    }
    if (siblings.has('.gitignore')) {
      try {
        const text = new TextDecoder().decode(await this.fs.readFile(join(dir.abs, '.gitignore'), MAX_IGNORE_FILE_BYTES));
        const source = dir.rel === '' ? '.gitignore' : `${dir.rel}/.gitignore`;
        frames = [...frames, ignoreFrame(text, source, dir.rel, '', this.caseInsensitive)];
      } catch {
        // An unreadable, oversized or non-regular .gitignore (or a folder of that name) adds no rules; the entry
        // itself is reported when the walk reaches it.
      }
    }
    return frames;
  }

  /** Stats one kept name and turns it into a FileEntry or a skip. */
  private async statEntry(folder: number, dir: DirTask, d: FsDirent, roots: readonly string[]): Promise<WalkItem> {
    const rel = dir.rel === '' ? d.name : `${dir.rel}/${d.name}`;
    const abs = join(dir.abs, d.name);
    let stat: FsStats;
    try {
      stat = d.isSymbolicLink() ? await this.fs.stat(abs) : await this.fs.lstat(abs);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ELOOP') return this.skip(folder, rel, 'symlink-loop', 'symlink chain loops (ELOOP)');
      if (code === 'ENOENT' && d.isSymbolicLink()) return this.skip(folder, rel, 'unreadable', 'broken symlink: its target does not exist');
      return this.skip(folder, rel, 'unreadable', `cannot be read: ${code}`);
    }
    let linkTarget: FileEntry['linkTarget'];
    if (d.isSymbolicLink()) {
      let real: string;
      try {
        real = await this.fs.realpath(abs);
      } catch (error) {
        const code = errorCode(error);
        return this.skip(folder, rel, code === 'ELOOP' ? 'symlink-loop' : 'unreadable', `symlink cannot be resolved: ${code}`);
      }
      if (stat.isDirectory()) {
        if (dir.real === real || dir.real.startsWith(real.endsWith(sep) ? real : real + sep)) {
          return this.skip(folder, `${rel}/`, 'symlink-loop', `symlink to ${real}, a folder that contains it`);
        }
        return this.skip(folder, `${rel}/`, 'excluded', 'symlink to a folder: not followed (files inside the workspace are read at their real path)');
      }
      const target = roots.findIndex((r) => real.startsWith(r.endsWith(sep) ? r : r + sep));
      if (target < 0) return this.skip(folder, rel, 'excluded', `symlink to ${real}, outside the workspace`);
      linkTarget = { folder: target, relPath: real.slice(roots[target].length).split(sep).filter(Boolean).join('/') };
    }
    if (!stat.isFile()) {
      const kind = stat.isFIFO() ? 'a named pipe' : stat.isSocket() ? 'a socket' : stat.isDirectory() ? 'a folder' : 'a device';
      return this.skip(folder, rel, 'unreadable', `not a regular file (${kind})`);
    }
    if (stat.size > this.maxFileBytes) {
      return this.skip(folder, rel, 'too-large', `${stat.size} bytes > the ${this.maxFileBytes}-byte cap`);
    }
    const entry: FileEntry = { folder, relPath: rel, path: this.display(folder, rel), absPath: abs, size: stat.size, mtimeMs: stat.mtimeMs, ...(linkTarget ? { linkTarget } : {}) };
    return { kind: 'file', entry };
  }
}
