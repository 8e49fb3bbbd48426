// One npm package → its corpus files: the tarball is walked and packed by the extension's own collectFiles and
// packContext (the `// File: <package>/<path>` framing, per-file tokenization, line map), narrowed to the corpus's
// files (corpusFiles.ts), deduplicated against every file seen before, and each file's askable lines found.
//
// Two deliberate differences from a user's workspace, both because a published package is not a source checkout:
// `dist` is walked (many packages ship their code only there), and .gitignore files left in tarballs are not
// honoured (they name build output that the tarball is made of). Order is 'path': tarball mtimes are meaningless.
import { createHash } from 'node:crypto';
import { collectFiles } from '../../extension/context/collectFiles';
import type { ContextTokenizer } from '../../extension/context/framing';
import { packContext } from '../../extension/context/packContext';
import { classifySource } from '../../extension/context/readSource';
import { DEFAULT_SKIP_DIRS } from '../../extension/context/skipRules';
import { type FileAskables, findAskables } from './askable';
import { MAX_FILE_BYTES, chooseCorpusFiles, isDeclarationFile } from './corpusFiles';
import { type LicenceVerdict, licenceOf } from './licences';
import { memoryFs } from './memoryFs';
import { repositoryKey } from './packageList';
import type { TarContents } from './tarball';

/** The extension's skip list without `dist` (see above). Held-out workspaces are packed with the same list. */
export const corpusSkipDirs: readonly string[] = DEFAULT_SKIP_DIRS.filter((d) => d !== 'dist');

/** Where a package's files appear to the walk (a path in memory, never on disk). */
const ROOT = '/npm-package';

export interface PackageMeta {
  readonly licence: LicenceVerdict;
  readonly repository?: string;
  readonly declaredName?: string;
}

/** Licence and repository from the tarball's root package.json. */
export function packageMeta(contents: TarContents): PackageMeta {
  const file = contents.files.find((f) => f.path === 'package.json');
  if (!file) return { licence: { ok: false, declared: '', reason: 'no package.json at the tarball root' } };
  let pkg: { name?: unknown; repository?: unknown };
  try {
    pkg = JSON.parse(new TextDecoder().decode(file.bytes)) as typeof pkg;
  } catch {
    return { licence: { ok: false, declared: '', reason: 'package.json is not valid JSON' } };
  }
  const repository = repositoryKey(pkg.repository);
  return { licence: licenceOf(pkg), ...(repository ? { repository } : {}), ...(typeof pkg.name === 'string' ? { declaredName: pkg.name } : {}) };
}

export interface CorpusFile {
  /** Path inside the package. */
  readonly relPath: string;
  readonly text: string;
  /** (tokens) the framed file, as packContext placed it. */
  readonly tokens: Uint32Array;
  readonly headerTokens: number;
  /** (lines + 1) FileSpan.lineTokenStarts. */
  readonly lineTokenStarts: readonly number[];
  /** (lines) whether line n+1 starts in column 0 with a non-space character. */
  readonly safeLines: readonly boolean[];
  readonly declaration: boolean;
  readonly askables: FileAskables;
}

export interface PackedPackage {
  readonly files: CorpusFile[];
  readonly tokens: number;
  /** Why files were left out, counted. */
  readonly dropped: Readonly<Record<string, number>>;
}

const NON_SPACE_START = /^[\p{L}\p{N}\p{P}\p{S}]/u;

/** A text's content key for deduplication: whitespace runs collapsed. */
export function contentKey(text: string): string {
  return createHash('sha1').update(text.replace(/\s+/g, ' ').trim()).digest('hex');
}

/**
 * Packs one package. `seen` holds the content keys of files already in the corpus; a file whose key is there is
 * dropped as a duplicate, and the kept files' keys are added. At most `maxTokens` tokens are kept (files in context
 * order until the next would pass it).
 */
export async function packPackage(
  name: string,
  contents: TarContents,
  tokenizer: ContextTokenizer,
  seen: Set<string>,
  maxTokens: number,
): Promise<PackedPackage> {
  const fs = memoryFs(ROOT, contents.files);
  const dropped: Record<string, number> = {};
  const count = (reason: string, n = 1) => (dropped[reason] = (dropped[reason] ?? 0) + n);
  const collected = await collectFiles({
    folders: [{ name, path: ROOT }],
    order: 'path',
    useGitignore: false,
    skipDirs: corpusSkipDirs,
    maxFileBytes: MAX_FILE_BYTES,
    caseInsensitive: false,
    fs,
  });
  for (const s of collected.skipped) count(s.reason);
  const choice = chooseCorpusFiles(collected.files);
  for (const d of choice.dropped) count(d.reason);

  // Read, classify (binary, minified) and deduplicate before packing, so packContext sees only the kept files.
  const keep = [];
  const texts = new Map<string, string>();
  const keys = new Map<string, string>();
  const localKeys = new Set<string>();
  for (const entry of choice.kept) {
    const source = classifySource(await fs.readFile(entry.absPath, MAX_FILE_BYTES), MAX_FILE_BYTES);
    if (source.kind === 'skipped') {
      count(source.reason);
      continue;
    }
    const key = contentKey(source.text);
    if (seen.has(key) || localKeys.has(key)) {
      count('duplicate');
      continue;
    }
    keys.set(entry.relPath, key);
    localKeys.add(key);
    texts.set(entry.relPath, source.text);
    keep.push(entry);
  }
  const packed = await packContext({ files: keep, tokenizer, pageSize: 16, fs, maxFileBytes: MAX_FILE_BYTES });
  const files: CorpusFile[] = [];
  let total = 0;
  for (const span of packed.manifest.files) {
    const n = span.tokenEnd - span.tokenStart;
    if (total + n > maxTokens) {
      count('package-token-cap');
      continue;
    }
    total += n;
    seen.add(keys.get(span.relPath)!);
    const text = texts.get(span.relPath)!;
    const lines = text.split('\n');
    const lineCount = span.lineTokenStarts.length - 1;
    const declaration = isDeclarationFile(span.relPath);
    files.push({
      relPath: span.relPath,
      text,
      tokens: packed.tokens.slice(span.tokenStart, span.tokenEnd),
      headerTokens: span.headerTokens,
      lineTokenStarts: span.lineTokenStarts,
      safeLines: Array.from({ length: lineCount }, (_, i) => NON_SPACE_START.test(lines[i] ?? '')),
      declaration,
      askables: span.relPath.endsWith('.json') || span.relPath.endsWith('.md') ? { definitions: [], usages: [] } : findAskables(text, declaration),
    });
  }
  for (const s of packed.manifest.skipped) count(s.reason);
  return { files, tokens: total, dropped };
}
