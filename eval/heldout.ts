// The held-out packages the corpus builder wrote (model/corpus/build.ts): each package's kept files under
// <corpus>/heldout-workspaces/<package>/ and its askable lines in <corpus>/heldout-questions.json. This file reads
// them, picks the packages an evaluation uses, and groups packages into workspaces of about one context length
// (several packages are one multi-root workspace, as the trainer's examples join a small package with others).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { unitHash } from '../model/corpus/packageList';

/** A definition line (model/corpus/askable.ts), with the file it is in and the line's text. */
export interface HeldOutDefinition {
  readonly name: string;
  /** 1-based. */
  readonly line: number;
  readonly kind: string;
  /** A declaration (`.d.ts`, overload, interface member) rather than an implementation. */
  readonly declaration: boolean;
  /** The line shows the parameters (a signature question may quote it). */
  readonly signature: boolean;
  /** Path inside the package, forward slashes. */
  readonly file: string;
  readonly text: string;
}

export interface HeldOutPackage {
  readonly package: string;
  readonly definitions: readonly HeldOutDefinition[];
  /** The package's files as a workspace folder. */
  readonly dir: string;
}

export interface HeldOutSet {
  readonly corpus: string;
  readonly questionsFile: string;
  /** sha256 of heldout-questions.json: which build the results came from. */
  readonly questionsSha256: string;
  /** Every package of the file, in the file's order. */
  readonly packages: readonly HeldOutPackage[];
}

export class HeldOutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeldOutError';
  }
}

export function readHeldOut(corpus: string): HeldOutSet {
  const questionsFile = join(corpus, 'heldout-questions.json');
  if (!existsSync(questionsFile)) {
    throw new HeldOutError(`${questionsFile} does not exist: --corpus must name a corpus folder built by \`npm run corpus\` (model/README.md §1)`);
  }
  const bytes = readFileSync(questionsFile);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new HeldOutError(`${questionsFile} is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new HeldOutError(`${questionsFile}: expected an array of packages, got ${typeof raw}`);
  const packages = raw.map((p: { package?: unknown; definitions?: unknown }, i): HeldOutPackage => {
    if (typeof p.package !== 'string' || !Array.isArray(p.definitions)) {
      throw new HeldOutError(`${questionsFile}: entry ${i} has no package name or definitions list`);
    }
    const dir = join(corpus, 'heldout-workspaces', p.package);
    if (!existsSync(dir)) throw new HeldOutError(`${questionsFile} lists ${p.package}, but its workspace ${dir} is missing`);
    return { package: p.package, definitions: p.definitions as HeldOutDefinition[], dir };
  });
  return { corpus, questionsFile, questionsSha256: createHash('sha256').update(bytes).digest('hex'), packages };
}

/**
 * The packages an evaluation uses: `count` of them in a seeded order (the same on every machine), or the packages
 * named; an unknown name is an error naming it.
 */
export function choosePackages(set: HeldOutSet, pick: { readonly count: number } | { readonly names: readonly string[] }, seed: number): HeldOutPackage[] {
  if ('names' in pick) {
    return pick.names.map((name) => {
      const p = set.packages.find((x) => x.package === name);
      if (!p) throw new HeldOutError(`--workspaces names ${name}, which is not a held-out package of ${set.questionsFile}`);
      return p;
    });
  }
  return [...set.packages]
    .sort((a, b) => unitHash(seed, `eval:${a.package}`) - unitHash(seed, `eval:${b.package}`))
    .slice(0, pick.count);
}

/** Bytes of the files under `dir` (the context's size before tokenizing). */
export function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  }
  return n;
}

/** Tokens per byte of JS/TS in p50k_base, for grouping only (the packer fits the real tokens to the window). */
const TOKENS_PER_BYTE = 0.3;

/**
 * Consecutive packages joined until they hold about `length` tokens (by their bytes): each group is one multi-root
 * workspace packed into one context, so a small package does not make a short context. A package alone larger than
 * `length` is its own group (the packer keeps what fits).
 */
export function workspaceGroups(packages: readonly HeldOutPackage[], length: number, bytesOf: (p: HeldOutPackage) => number = (p) => folderBytes(p.dir)): HeldOutPackage[][] {
  const groups: HeldOutPackage[][] = [];
  let current: HeldOutPackage[] = [];
  let tokens = 0;
  for (const p of packages) {
    current.push(p);
    tokens += bytesOf(p) * TOKENS_PER_BYTE;
    if (tokens >= length) {
      groups.push(current);
      current = [];
      tokens = 0;
    }
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
