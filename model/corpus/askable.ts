// What can be asked about one JavaScript/TypeScript file: the lines that define a name, and the lines that use a
// name (an import/require of it, or a call). Line-based and regex-only on purpose: the questions only need the line a
// definition is on, and a parser would reject the many files npm ships in dialects it does not know. Whether a
// question is answerable is decided later, per training context (a name defined twice in one context is not asked).

/** How a definition line defines its name. */
export type DefinitionKind = 'function' | 'class' | 'variable' | 'type' | 'export' | 'method' | 'prototype';

export interface Definition {
  readonly name: string;
  /** 1-based line of the file. */
  readonly line: number;
  readonly kind: DefinitionKind;
  /** In a declaration file (.d.ts): a signature with types, not an implementation. */
  readonly declaration: boolean;
  /** The line holds the whole parameter list `(…)` after the name: it can answer "what does it take and return". */
  readonly signature: boolean;
}

export interface Usage {
  readonly name: string;
  readonly line: number;
  readonly kind: 'import' | 'call';
}

export interface FileAskables {
  readonly definitions: Definition[];
  /** At most one usage per name: the first import of it, else its first call. */
  readonly usages: Usage[];
}

/** Lines longer than this are never answers (an answer is the whole line). */
export const MAX_ANSWER_CHARS = 160;

const ID = '[A-Za-z_$][\\w$]*';
const EXPORT = '(?:export\\s+(?:default\\s+)?)?(?:declare\\s+)?';

/** Top-level-looking definitions, tried on the line without its indentation. */
const DEFINITION_PATTERNS: readonly { re: RegExp; kind: DefinitionKind }[] = [
  { re: new RegExp(`^${EXPORT}(?:async\\s+)?function\\s*\\*?\\s*(${ID})\\s*[<(]`), kind: 'function' },
  { re: new RegExp(`^${EXPORT}(?:abstract\\s+)?class\\s+(${ID})\\b`), kind: 'class' },
  { re: new RegExp(`^${EXPORT}(?:const\\s+)?(?:interface|type|enum|namespace)\\s+(${ID})\\b`), kind: 'type' },
  { re: new RegExp(`^${EXPORT}(?:const|let|var)\\s+(${ID})\\s*(?::[^=]*)?=(?!=)(?!\\s*require\\s*\\()`), kind: 'variable' },
  { re: new RegExp(`^(?:export\\s+)?declare\\s+(?:const|let|var)\\s+(${ID})\\s*:`), kind: 'variable' },
  { re: new RegExp(`^(?:module\\.)?exports\\.(${ID})\\s*=(?!=)`), kind: 'export' },
  { re: new RegExp(`^${ID}\\.prototype\\.(${ID})\\s*=\\s*(?:async\\s+)?function\\b`), kind: 'prototype' },
];

/** The value of a variable that defines something callable. */
const CALLABLE_VALUE = new RegExp(`^(?:async\\s+)?(?:function\\b|class\\b|\\([^()]*\\)\\s*(?::[^=]*)?=>|${ID}\\s*=>)`);

/** Indented definitions: class and object methods, `name: function`, interface method signatures. */
const METHOD_PATTERNS: readonly RegExp[] = [
  new RegExp(`^(?:(?:public|private|protected|static|readonly|override|abstract|async)\\s+)*\\*?(${ID})\\s*(?:<[^>]*>)?\\s*\\([^()]*\\)\\s*(?::\\s*[^{;]+)?\\{\\s*$`),
  new RegExp(`^(${ID})\\s*:\\s*(?:async\\s+)?function\\b`),
  new RegExp(`^(?:(?:readonly|static)\\s+)*(${ID})\\??\\s*(?:<[^>]*>)?\\([^()]*\\)\\s*:\\s*[^;]+;\\s*$`),
];

/** Names never asked about: keywords, and names so generic that every file has them. */
const STOP_NAMES: ReadonlySet<string> = new Set([
  'if', 'for', 'while', 'switch', 'catch', 'function', 'return', 'with', 'else', 'do', 'new', 'typeof', 'delete', 'void',
  'constructor', 'super', 'this', 'self', 'that', 'exports', 'module', 'require', 'default', 'prototype', 'length',
  'toString', 'valueOf', 'toJSON', 'value', 'name', 'type', 'get', 'set', 'has', 'call', 'apply', 'bind', 'then', 'catch',
  'push', 'pop', 'map', 'data', 'options', 'opts', 'index', 'key', 'keys', 'error', 'err', 'cb', 'callback', 'fn', 'args',
  'result', 'res', 'req', 'undefined', 'null', 'true', 'false', 'async', 'await', 'static', 'import', 'export', 'from',
  'let', 'const', 'var', 'class', 'interface', 'enum', 'namespace', 'declare', 'public', 'private', 'protected',
]);

/** Whether `name` may be asked about (length, stop list). */
export function askableName(name: string): boolean {
  return name.length >= 3 && name.length <= 48 && !STOP_NAMES.has(name);
}

/** Whether the text after the name holds the whole parameter list: `name(` … `)` balanced on this line. */
function hasParameterList(line: string, name: string): boolean {
  const at = line.search(new RegExp(`(?<![\\w$])${escapeRegExp(name)}(?![\\w$])`));
  if (at < 0) return false;
  let i = at + name.length;
  // `name = (a, b) =>`, `name = function (a)`, `name<T>(a)`, `name?(a)`: skip to the first '('.
  const open = line.indexOf('(', i);
  if (open < 0) return false;
  let depth = 0;
  for (i = open; i < line.length; i++) {
    if (line[i] === '(') depth++;
    else if (line[i] === ')' && --depth === 0) return true;
  }
  return false;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The lines a question can be about: not inside a block comment (JSDoc example code is not a definition), not blank,
 * not a line comment, not longer than an answer may be. `n` is the 0-based line index, `raw` the line without its CR.
 */
function* codeLines(lines: readonly string[]): Generator<{ n: number; raw: string; trimmed: string }> {
  let inBlockComment = false;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n].replace(/\r$/, '');
    const trimmed = raw.trim();
    if (inBlockComment) {
      if (trimmed.includes('*/')) inBlockComment = false;
      continue;
    }
    if (trimmed.startsWith('/*')) {
      if (!trimmed.includes('*/')) inBlockComment = true;
      continue;
    }
    if (trimmed === '' || trimmed.startsWith('//') || trimmed.length > MAX_ANSWER_CHARS) continue;
    yield { n, raw, trimmed };
  }
}

/** Definitions and usages of `text` (a file's text); `isDeclarationFile` for .d.ts / .d.mts / .d.cts. */
export function findAskables(text: string, isDeclarationFile: boolean): FileAskables {
  const lines = text.split('\n');
  const definitions: Definition[] = [];
  const defined = new Set<string>();
  for (const { n, raw, trimmed } of codeLines(lines)) {
    const indented = raw.length > 0 && (raw[0] === ' ' || raw[0] === '\t');
    let name: string | undefined;
    let kind: DefinitionKind | undefined;
    for (const p of DEFINITION_PATTERNS) {
      const m = p.re.exec(trimmed);
      if (m) {
        name = m[1];
        kind = p.kind;
        break;
      }
    }
    if (!name && indented) {
      for (const re of METHOD_PATTERNS) {
        const m = re.exec(trimmed);
        if (m) {
          name = m[1];
          kind = 'method';
          break;
        }
      }
    }
    if (!name || !kind || !askableName(name)) continue;
    // An indented variable is a local one unless it holds a function or class (UMD and IIFE modules indent
    // everything, and their `var helper = function` lines are definitions).
    if (kind === 'variable' && indented && !CALLABLE_VALUE.test(trimmed.slice(trimmed.indexOf('=') + 1).trim())) continue;
    definitions.push({ name, line: n + 1, kind, declaration: isDeclarationFile, signature: hasParameterList(trimmed, name) });
    defined.add(name);
  }
  return { definitions, usages: findUsages(lines, defined) };
}

const IMPORT_LINE = /^(?:import\b[^'"]*\bfrom\s*['"]|import\s*['"]|export\s*(?:\*|\{[^}]*\})\s*from\s*['"]|(?:const|let|var)\s+[^=]+=\s*require\s*\(|(?:const|let|var)\s+[^=]+=\s*(?:await\s+)?import\s*\()/;
const WORD = new RegExp(ID, 'g');

/**
 * Usages of names this file does not define itself: for each name, the first import line that mentions it, else the
 * first line that calls it (`name(` or `.name(`). Which of them are asked about depends on the context (a name must
 * be defined in another file of it).
 */
function findUsages(lines: readonly string[], definedHere: ReadonlySet<string>): Usage[] {
  const imports = new Map<string, number>();
  const calls = new Map<string, number>();
  for (const { n, trimmed } of codeLines(lines)) {
    if (IMPORT_LINE.test(trimmed)) {
      // Names bound by the import, without the module string.
      const bound = trimmed.replace(/(['"`])(?:\\.|(?!\1).)*\1/g, ' ');
      for (const w of bound.match(WORD) ?? []) {
        if (askableName(w) && !definedHere.has(w) && !imports.has(w)) imports.set(w, n + 1);
      }
      continue;
    }
    for (const m of trimmed.matchAll(new RegExp(`(?<![\\w$])(${ID})\\s*\\(`, 'g'))) {
      const w = m[1];
      if (askableName(w) && !definedHere.has(w) && !calls.has(w)) calls.set(w, n + 1);
    }
  }
  const out: Usage[] = [];
  for (const [name, line] of imports) out.push({ name, line, kind: 'import' });
  for (const [name, line] of calls) if (!imports.has(name)) out.push({ name, line, kind: 'call' });
  return out.sort((a, b) => a.line - b.line || (a.name < b.name ? -1 : 1));
}
