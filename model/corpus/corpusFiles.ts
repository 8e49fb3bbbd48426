// Which of a package's collected files go into the corpus. The extension's own walk (collectFiles) runs first; these
// rules then narrow a published package to the code a person would have in a workspace:
//  - JavaScript/TypeScript sources (.js .mjs .cjs .jsx .ts .mts .cts .tsx, declarations .d.ts included), and the
//    package's own package.json and README.md (a workspace has them; they are small and name things).
//  - One build of each module: npm packages often ship the same module as dist/esm/x.js, dist/cjs/x.js, lib/x.js and
//    src/x.ts. Files whose paths agree once build folders and extensions are removed are one module; it keeps its
//    TypeScript source if it has one, else one JavaScript build (ESM first), plus its declaration file when there is
//    no TypeScript source (the declaration is where the types are).
//  - Size: at least MIN_FILE_BYTES (nothing to ask about below) and at most MAX_FILE_BYTES (a file must fit in one
//    training context with others).
import type { FileEntry } from '../../extension/context/collectFiles';

export const MIN_FILE_BYTES = 64;
export const MAX_FILE_BYTES = 32 * 1024;

const CODE_EXTENSIONS = ['.d.ts', '.d.mts', '.d.cts', '.tsx', '.ts', '.mts', '.cts', '.mjs', '.jsx', '.js', '.cjs'] as const;

/** Build folders stripped from the front of a path when grouping builds of one module. */
const BUILD_DIRS: ReadonlySet<string> = new Set([
  'dist', 'lib', 'es', 'esm', 'cjs', 'build', 'umd', 'module', 'modules', 'src', 'source', 'out', 'types', 'typings',
  'mjs', 'commonjs', 'es5', 'es6', 'es2015', 'es2017', 'es2020', 'node', 'browser', 'legacy', 'modern', 'bundle',
]);

/** The code extension of a path ('.d.ts' before '.ts'), or undefined. */
export function codeExtension(path: string): (typeof CODE_EXTENSIONS)[number] | undefined {
  const lower = path.toLowerCase();
  return CODE_EXTENSIONS.find((e) => lower.endsWith(e));
}

export function isDeclarationFile(path: string): boolean {
  const e = codeExtension(path);
  return e === '.d.ts' || e === '.d.mts' || e === '.d.cts';
}

/** The module a path is a build of: build folders and the extension removed. */
export function moduleKey(relPath: string): string {
  const ext = codeExtension(relPath) ?? '';
  const parts = relPath.slice(0, relPath.length - ext.length).split('/');
  while (parts.length > 1 && BUILD_DIRS.has(parts[0].toLowerCase())) parts.shift();
  return parts.join('/');
}

/** Lower is preferred among builds of one module. */
function buildRank(entry: FileEntry): number {
  const ext = codeExtension(entry.relPath);
  const order: Record<string, number> = { '.ts': 0, '.tsx': 0, '.mts': 0, '.cts': 0, '.mjs': 1, '.js': 2, '.jsx': 2, '.cjs': 3 };
  const dirs = entry.relPath.split('/').slice(0, -1).map((d) => d.toLowerCase());
  // ESM builds before CommonJS ones when both are .js.
  const flavour = dirs.some((d) => d === 'esm' || d === 'es' || d === 'module' || d === 'mjs') ? 0 : dirs.some((d) => d === 'cjs' || d === 'commonjs') ? 2 : 1;
  return (order[ext ?? ''] ?? 9) * 10 + flavour;
}

export interface FileChoice {
  readonly kept: FileEntry[];
  /** Left out here, with why (the corpus manifest counts them). */
  readonly dropped: { readonly entry: FileEntry; readonly reason: 'not-code' | 'other-build' | 'too-small' | 'too-large' }[];
}

/** Narrows collected files (in context order) to the corpus's; keeps context order. */
export function chooseCorpusFiles(files: readonly FileEntry[]): FileChoice {
  const dropped: FileChoice['dropped'][number][] = [];
  const code: FileEntry[] = [];
  const kept = new Set<FileEntry>();
  for (const f of files) {
    const isMeta = f.relPath === 'package.json' || f.relPath === 'README.md';
    if (!isMeta && !codeExtension(f.relPath)) {
      dropped.push({ entry: f, reason: 'not-code' });
      continue;
    }
    if (f.size < MIN_FILE_BYTES) {
      dropped.push({ entry: f, reason: 'too-small' });
      continue;
    }
    if (f.size > MAX_FILE_BYTES) {
      dropped.push({ entry: f, reason: 'too-large' });
      continue;
    }
    if (isMeta) kept.add(f);
    else code.push(f);
  }
  const byModule = new Map<string, FileEntry[]>();
  for (const f of code) {
    const k = moduleKey(f.relPath);
    byModule.set(k, [...(byModule.get(k) ?? []), f]);
  }
  for (const builds of byModule.values()) {
    const sources = builds.filter((f) => !isDeclarationFile(f.relPath));
    const declarations = builds.filter((f) => isDeclarationFile(f.relPath));
    const best = [...sources].sort((a, b) => buildRank(a) - buildRank(b) || (a.relPath < b.relPath ? -1 : 1))[0];
    const hasTsSource = best !== undefined && buildRank(best) < 10;
    const decl = hasTsSource ? undefined : [...declarations].sort((a, b) => (a.relPath < b.relPath ? -1 : 1))[0];
    for (const f of builds) {
      if (f === best || f === decl) kept.add(f);
      else dropped.push({ entry: f, reason: 'other-build' });
    }
  }
  return { kept: files.filter((f) => kept.has(f)), dropped };
}
