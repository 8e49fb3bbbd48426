// VS Code glob patterns (files.exclude, search.exclude, the extension's include/exclude) compiled to RegExps.
// Written here rather than taken from picomatch: VS Code's syntax is small (`/`, `*`, `?`, `**`, `{a,b}`, `[0-9]`,
// `[!a]`) and its semantics differ from picomatch defaults in ways that matter here (`*` matches dotfiles; a pattern
// is matched against the whole folder-relative path, so `*.min.js` is top level only and `**/*.min.js` is anywhere).
// Syntax reference: https://code.visualstudio.com/docs/editor/glob-patterns

export interface GlobOptions {
  /** VS Code matches case-insensitively on Windows and macOS, case-sensitively on Linux. */
  readonly caseInsensitive: boolean;
}

/** The platform default for GlobOptions.caseInsensitive. */
export const platformCaseInsensitive = process.platform === 'win32' || process.platform === 'darwin';

/**
 * A VS Code exclude setting as the caller reads it from the configuration: `{ "<glob>": true | false | { when } }`
 * (false turns a pattern off; `when: "$(basename).ts"` excludes a file only if that sibling exists), or a plain list.
 */
export type GlobExpression = Readonly<Record<string, boolean | { readonly when: string }>> | readonly string[];

/**
 * Compiles one glob to a RegExp over folder-relative paths with forward slashes and no leading or trailing slash.
 * `dir/**` also matches `dir` itself so that a walk can prune the folder; a trailing `/` means the same as `/**`.
 */
export function globToRegExp(pattern: string, options: GlobOptions): RegExp {
  const source = compile(normalize(pattern), 0, false);
  if (source.end !== normalize(pattern).length) {
    throw new Error(`glob "${pattern}": unexpected "${normalize(pattern)[source.end]}" at ${source.end}`);
  }
  return new RegExp(`^${source.regex}$`, options.caseInsensitive ? 'i' : '');
}

/**
 * The leading segments of a glob that contain no wildcard, e.g. `node_modules/left-pad` for
 * `node_modules/left-pad/**`, `''` for `**∕*.ts`. Used to tell which skipped paths an include glob spells out.
 */
export function globLiteralPrefix(pattern: string): string {
  const segments = normalize(pattern).split('/');
  const literal: string[] = [];
  for (const segment of segments) {
    if (/[*?[\]{}]/.test(segment)) break;
    literal.push(segment);
  }
  return literal.join('/');
}

function normalize(pattern: string): string {
  let p = pattern.replace(/\\/g, '/').trim();
  while (p.startsWith('./')) p = p.slice(2);
  while (p.startsWith('/')) p = p.slice(1);
  if (p.endsWith('/')) p += '**';
  return p;
}

/** Parses from `i`; inside braces it stops at `,` or `}` of this level. */
function compile(p: string, i: number, inBraces: boolean): { regex: string; end: number } {
  let out = '';
  const atSegmentStart = (k: number) => k === 0 || p[k - 1] === '/' || (inBraces && (p[k - 1] === '{' || p[k - 1] === ','));
  while (i < p.length) {
    const c = p[i];
    if (inBraces && (c === ',' || c === '}')) break;
    if (c === '*') {
      let j = i;
      while (p[j] === '*') j++;
      const next = p[j];
      const endsSegment = next === undefined || next === '/' || (inBraces && (next === ',' || next === '}'));
      if (j - i >= 2 && atSegmentStart(i) && endsSegment) {
        if (next === '/') {
          out += '(?:.*/)?'; // `**/`: zero or more whole segments
          i = j + 1;
        } else if (out.endsWith('/')) {
          out = out.slice(0, -1) + '(?:/.*)?'; // `dir/**`: the folder itself and everything below it
          i = j;
        } else {
          out += '.*';
          i = j;
        }
      } else {
        out += '[^/]*'; // `*`, or `**` inside a segment, which VS Code reads as `*`
        i = j;
      }
    } else if (c === '?') {
      out += '[^/]';
      i++;
    } else if (c === '[') {
      const close = p.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        i++;
        continue;
      }
      let body = p.slice(i + 1, close);
      const negated = body[0] === '!' || body[0] === '^';
      if (negated) body = body.slice(1);
      const escaped = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
      out += negated ? `[^/${escaped}]` : `(?!/)[${escaped}]`;
      i = close + 1;
    } else if (c === '{') {
      const alternatives: string[] = [];
      let k = i + 1;
      for (;;) {
        const alt = compile(p, k, true);
        alternatives.push(alt.regex);
        k = alt.end;
        if (p[k] === ',') {
          k++;
          continue;
        }
        if (p[k] !== '}') throw new Error(`glob "${p}": "{" at ${i} is never closed`);
        break;
      }
      out += `(?:${alternatives.join('|')})`;
      i = k + 1;
    } else {
      out += c === '/' ? '/' : c.replace(/[.+^${}()|\\[\]]/g, (m) => `\\${m}`);
      i++;
    }
  }
  return { regex: out, end: i };
}

/** Matches folder-relative paths against a VS Code exclude expression and says which pattern matched. */
export class GlobExpressionMatcher {
  private readonly plain: { readonly pattern: string; readonly regex: RegExp }[] = [];
  private readonly sibling: { readonly pattern: string; readonly regex: RegExp; readonly when: string }[] = [];

  constructor(expression: GlobExpression | undefined, options: GlobOptions) {
    if (!expression) return;
    const entries: [string, boolean | { readonly when: string }][] = Array.isArray(expression)
      ? (expression as readonly string[]).map((p) => [p, true])
      : Object.entries(expression as Readonly<Record<string, boolean | { readonly when: string }>>);
    for (const [pattern, value] of entries) {
      if (value === false || pattern.trim() === '') continue;
      const regex = globToRegExp(pattern, options);
      if (value === true) this.plain.push({ pattern, regex });
      else if (typeof value === 'object' && typeof value.when === 'string') this.sibling.push({ pattern, regex, when: value.when });
    }
  }

  get isEmpty(): boolean {
    return this.plain.length === 0 && this.sibling.length === 0;
  }

  /**
   * The first pattern that matches `relPath`, or undefined. `siblings` lists the names in the same folder, for
   * `when` clauses (`$(basename)` is the name without its last extension).
   */
  match(relPath: string, siblings?: ReadonlySet<string>): string | undefined {
    for (const { pattern, regex } of this.plain) if (regex.test(relPath)) return pattern;
    if (this.sibling.length === 0 || !siblings) return undefined;
    const name = relPath.slice(relPath.lastIndexOf('/') + 1);
    const dot = name.lastIndexOf('.');
    const basename = dot > 0 ? name.slice(0, dot) : name;
    for (const { pattern, regex, when } of this.sibling) {
      if (regex.test(relPath) && siblings.has(when.replace(/\$\(basename\)/g, basename))) return `${pattern} (when ${when})`;
    }
    return undefined;
  }
}
