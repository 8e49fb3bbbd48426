// Which files go in when the workspace is larger than the model's context window.
//
// Policy: every readable text file gets a relevance score; files are taken greedily from the highest score while
// they fit the token budget (a file that does not fit is skipped and smaller ones are still tried); the chosen files
// then keep the stable context order (fileOrder.ts). Everything left out is reported as 'over-budget' with its token
// count (counted when the file was tokenized, else estimated from its length and flagged so).
// Score, highest first:
//  - the open editor's file: always first (kept whenever it fits the budget by itself);
//  - an import between a file and the open file, either direction (relative JS/TS imports and requires, Python
//    relative and dotted imports, C/C++ `#include "…"`): +8;
//  - the open file's folder: +4 for the same folder, else up to +2 for shared leading folders;
//  - the file's name mentioned in the question (`collectFiles`, `collectFiles.ts`, a path): +6;
//  - each question word found in the file as a whole word (case-insensitive): +w·ln(1 + N/df), N readable files,
//    df files containing it, so rare identifiers count most and common words next to nothing; w = 2 for words
//    written like code (`camelCase`, `snake_case`, digits, dotted names, backticks), else 1;
//  - size: −0.5·log2(1 + tokens/256), so among equals smaller files go first and more of them fit;
//  - ties: the earlier file in context order (older, so more likely to be a reused cache prefix).
// Trade-off: the choice depends on the question and the open file, so when the workspace does not fit, two
// questions can pick different files and share a cache prefix only up to the first file whose membership changed.
// When everything fits, nothing depends on the question and the whole context is one reusable prefix.
import type { FileEntry } from './collectFiles';

/** Where the user is and what they asked: what the window fitting scores files by. */
export interface WindowSignals {
  readonly question?: string;
  /** The open editor's file; it is kept only if it is among the collected files (an excluded file is not forced in). */
  readonly openFile?: { readonly folder: number; readonly relPath: string };
}

const STOPWORDS = new Set(
  (
    'the and for are but not you all any can had her was one our out day get has him his how man new now old see two way who ' +
    'boy did its let put say she too use what when where which while with would could should there their them then than that ' +
    'this these those from into about does doing done have having here just like made make many more most much must only other ' +
    'over same some such very want were will your also been being both each even every find found give goes gone good know ' +
    'look need part show take tell used uses using work works why whats wheres file files code function functions method ' +
    'methods class classes variable variables defined define definition called call calls return returns value values type ' +
    'types line lines project workspace repo repository implement implemented implementation explain happens happen please'
  ).split(' '),
);

/** A word of the question worth looking for in files. */
export interface QuestionTerm {
  /** Lower-cased. */
  readonly term: string;
  /** Written like code (`camelCase`, `snake_case`, digits, `$`, a dotted name or path, or in backticks): counts double. */
  readonly codeLike: boolean;
}

/** Identifiers, file names and paths the question mentions, at most 32, in order of appearance. */
export function questionTerms(question: string): QuestionTerm[] {
  const terms: QuestionTerm[] = [];
  const seen = new Set<string>();
  const quoted = new Set([...question.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1].split(/[^\w$./-]+/)).map((w) => w.toLowerCase()));
  for (const match of question.matchAll(/[A-Za-z_$][\w$]*(?:[./-][\w$]+)*/g)) {
    for (const candidate of [match[0], ...match[0].split(/[./-]/)]) {
      const term = candidate.toLowerCase();
      if (term.length < 3 || STOPWORDS.has(term) || seen.has(term)) continue;
      seen.add(term);
      const codeLike = /[a-z][A-Z]|[_$\d./-]/.test(candidate) || quoted.has(term);
      terms.push({ term, codeLike });
      if (terms.length === 32) return terms;
    }
  }
  return terms;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

function stripExtension(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? path.slice(0, dot) : path;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Resolves `a/b/../c` style paths; undefined when `..` climbs out of the folder. */
function normalizePath(path: string): string | undefined {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}

const IMPORT_PATTERNS: readonly { readonly regex: RegExp; readonly kind: 'js' | 'py' | 'c' }[] = [
  { kind: 'js', regex: /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"\n]+)['"]/g }, // import x from './a'
  { kind: 'js', regex: /\bimport\s*['"]([^'"\n]+)['"]/g }, // import './a'
  { kind: 'js', regex: /\b(?:require|import)\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g }, // require('./a'), import('./a')
  { kind: 'py', regex: /^[ \t]*from\s+(\.+[\w.]*|[A-Za-z_][\w.]*)\s+import\b/gm }, // from .a import b
  { kind: 'py', regex: /^[ \t]*import\s+([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)/gm }, // import pkg.a
  { kind: 'c', regex: /^[ \t]*#\s*include\s*"([^"\n]+)"/gm }, // #include "a.h"
];

/**
 * What a file's imports may refer to, as folder-relative paths without extension (`src/a`, also `src/a/index`) or,
 * for non-relative Python and C specifiers, as path suffixes (`*pkg/a`). Package imports (`react`) are ignored.
 */
export function importTargets(relPath: string, text: string): Set<string> {
  const targets = new Set<string>();
  const dir = dirOf(relPath);
  for (const { regex, kind } of IMPORT_PATTERNS) {
    for (const match of text.matchAll(regex)) {
      const spec = match[1];
      if (kind === 'js') {
        if (!spec.startsWith('./') && !spec.startsWith('../')) continue;
        const resolved = normalizePath(`${dir}/${spec}`);
        if (resolved === undefined) continue;
        targets.add(stripExtension(resolved));
        targets.add(`${resolved}/index`);
      } else if (kind === 'py' && spec.startsWith('.')) {
        // Relative: one dot is this package, each further dot one level up.
        const dots = /^\.+/.exec(spec)![0].length;
        const rest = spec.slice(dots).split('.').filter(Boolean).join('/');
        const up = dir.split('/').filter(Boolean);
        if (dots - 1 > up.length) continue;
        const resolved = [up.slice(0, up.length - (dots - 1)).join('/'), rest].filter(Boolean).join('/');
        targets.add(resolved);
        targets.add(`${resolved}/__init__`);
      } else if (kind === 'py') {
        targets.add(`*${spec.split('.').join('/')}`);
      } else {
        // C: relative to the including file first, then anywhere on an include path.
        const local = normalizePath(`${dir}/${spec}`);
        if (local !== undefined) targets.add(stripExtension(local));
        if (!spec.startsWith('.')) targets.add(`*${stripExtension(spec)}`);
      }
    }
  }
  return targets;
}

/** True when `relPath` is one of `targets` (exact, without extension, or as a `*suffix`). */
export function isImportTarget(targets: ReadonlySet<string>, relPath: string): boolean {
  const bare = stripExtension(relPath);
  if (targets.has(bare)) return true;
  for (const t of targets) {
    if (t.startsWith('*') && (bare === t.slice(1) || bare.endsWith(`/${t.slice(1)}`))) return true;
  }
  return false;
}

/** What phase 1 learns about one readable file, from its text. */
export interface FileFeatures {
  readonly entry: FileEntry;
  /** Position in context order. */
  readonly order: number;
  /** Characters of the framed file (header included): the token estimate's base. */
  readonly chars: number;
  /** Indices into the question terms found in the text. */
  readonly mentions: readonly number[];
  readonly nameMentioned: boolean;
  readonly importsOpenFile: boolean;
  readonly isOpenFile: boolean;
}

/** Scores files by the WindowSignals; fed one file at a time, scored once all are seen. */
export class RelevanceScorer {
  readonly terms: readonly QuestionTerm[];
  private readonly termPattern: RegExp | undefined;
  private readonly questionLower: string;
  private openTargets: ReadonlySet<string> = new Set();
  private readonly df: number[];
  private readonly termIndex: ReadonlyMap<string, number>;
  private files = 0;

  constructor(private readonly signals: WindowSignals) {
    this.terms = questionTerms(signals.question ?? '');
    this.df = this.terms.map(() => 0);
    this.termIndex = new Map(this.terms.map((t, i) => [t.term, i]));
    this.questionLower = (signals.question ?? '').toLowerCase();
    this.termPattern = this.terms.length
      ? new RegExp(`(?<![\\w$])(?:${this.terms.map((t) => escapeRegExp(t.term)).join('|')})(?![\\w$])`, 'gi')
      : undefined;
  }

  isOpenFile(entry: FileEntry): boolean {
    const open = this.signals.openFile;
    return open !== undefined && entry.folder === open.folder && entry.relPath === open.relPath;
  }

  /** Call with the open file's text before observing the others, so imports from it are known. */
  setOpenFileText(text: string): void {
    const open = this.signals.openFile;
    if (open) this.openTargets = importTargets(open.relPath, text);
  }

  observe(entry: FileEntry, order: number, framedChars: number, text: string): FileFeatures {
    this.files++;
    const mentions: number[] = [];
    if (this.termPattern) {
      const found = new Set<number>();
      for (const match of text.matchAll(this.termPattern)) {
        const i = this.termIndex.get(match[0].toLowerCase()) ?? -1;
        if (i >= 0) found.add(i);
        if (found.size === this.terms.length) break;
      }
      for (const i of found) {
        mentions.push(i);
        this.df[i]++;
      }
    }
    const name = entry.relPath.slice(entry.relPath.lastIndexOf('/') + 1).toLowerCase();
    const nameMentioned =
      name.length >= 3 &&
      (this.termIndex.has(name) || this.termIndex.has(stripExtension(name)) || this.questionLower.includes(entry.relPath.toLowerCase()));
    const open = this.signals.openFile;
    const importsOpenFile =
      open !== undefined &&
      entry.folder === open.folder &&
      !this.isOpenFile(entry) &&
      (isImportTarget(this.openTargets, entry.relPath) || isImportTarget(importTargets(entry.relPath, text), open.relPath));
    return { entry, order, chars: framedChars, mentions, nameMentioned, importsOpenFile, isOpenFile: this.isOpenFile(entry) };
  }

  /** The score of each observed file (see the policy at the top of this file); `tokens` estimates its size. */
  score(features: FileFeatures, tokens: number): number {
    if (features.isOpenFile) return Number.POSITIVE_INFINITY;
    let score = 0;
    if (features.importsOpenFile) score += 8;
    const open = this.signals.openFile;
    if (open && features.entry.folder === open.folder) {
      const openDir = dirOf(open.relPath);
      const dir = dirOf(features.entry.relPath);
      if (dir === openDir) score += 4;
      else {
        const a = openDir.split('/').filter(Boolean);
        const b = dir.split('/').filter(Boolean);
        let shared = 0;
        while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared++;
        if (a.length > 0) score += (2 * shared) / a.length;
      }
    }
    if (features.nameMentioned) score += 6;
    for (const i of features.mentions) {
      score += (this.terms[i].codeLike ? 2 : 1) * Math.log(1 + this.files / Math.max(this.df[i], 1));
    }
    score -= 0.5 * Math.log2(1 + tokens / 256);
    return score;
  }
}
