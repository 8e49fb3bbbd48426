// Which questions a packed held-out context can be asked, and their expected answers, by the trainer's rules
// (model/train/examples.py make_pair): a definition question when the name has exactly one implementation line in
// the context (else exactly one declaration line); a signature question when it has exactly one signature line of
// the preferred kind and at most one implementation. On top of that the quoted line's text must occur once in the
// whole context, so quoting the right text is quoting the right line. The expected answer is the line's own tokens
// in the context without whitespace-only tokens at its ends (model/train/corpus.py line_tokens), after ` NAME:` for a
// name-first model; at most 72 tokens, as in training.
import type { ContextManifest } from '../extension/context/manifest';
import { unitHash } from '../model/corpus/packageList';
import { type AnswerStyle, nameFirstPrefix, questionFor } from '../model/corpus/promptFormat';
import type { HeldOutDefinition, HeldOutPackage } from './heldout';
import type { AnswerSite } from './score';

/** The trainer's longest quoted line in tokens (model/train/examples.py MAX_ANSWER_TOKENS). */
export const maxAnswerTokens = 72;

export type EvalTask = 'definition' | 'signature';
export const evalTasks: readonly EvalTask[] = ['definition', 'signature'];

export interface EvalQuestion extends AnswerSite {
  readonly task: EvalTask;
  readonly name: string;
  /** The package the answer is in (the workspace folder's name). */
  readonly package: string;
  readonly question: string;
  readonly expectedTokens: readonly number[];
  readonly expectedText: string;
}

/** What question choice needs of the model's tokenizer. */
export interface QuestionTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  tokenBytes(id: number): Uint8Array;
}

export interface QuestionOptions {
  readonly answerStyle: AnswerStyle;
  readonly seed: number;
  /** Most questions to return (a seeded choice among the askable ones). */
  readonly max: number;
}

interface Candidate extends HeldOutDefinition {
  readonly folder: number;
}

/**
 * The questions for one packed context. `packages[i]` is workspace folder i; `lines(folder, path)` gives a context
 * file's lines (its text split at '\n').
 */
export function chooseQuestions(
  manifest: ContextManifest,
  tokens: ArrayLike<number>,
  packages: readonly HeldOutPackage[],
  lines: (folder: number, path: string) => readonly string[],
  tok: QuestionTokenizer,
  o: QuestionOptions,
): EvalQuestion[] {
  const spans = new Map(manifest.files.map((f) => [`${f.folder}\0${f.relPath}`, f]));
  // How often each line text (trimmed) occurs in the context.
  const lineCounts = new Map<string, number>();
  for (const f of manifest.files) {
    for (const l of lines(f.folder, f.relPath)) {
      const t = l.trim();
      if (t) lineCounts.set(t, (lineCounts.get(t) ?? 0) + 1);
    }
  }
  const byName = new Map<string, Candidate[]>();
  packages.forEach((p, folder) => {
    for (const d of p.definitions) {
      if (!spans.has(`${folder}\0${d.file}`)) continue;
      const list = byName.get(d.name) ?? [];
      list.push({ ...d, folder });
      byName.set(d.name, list);
    }
  });
  const whitespace = (id: number) => tok.tokenBytes(id).every((b) => b === 0x20 || (b >= 0x09 && b <= 0x0d));
  const out: EvalQuestion[] = [];
  for (const [name, defs] of byName) {
    const impl = defs.filter((d) => !d.declaration);
    const decl = defs.filter((d) => d.declaration);
    const picks: [EvalTask, Candidate[]][] = [['definition', impl.length > 0 ? impl : decl]];
    const sigDecl = decl.filter((d) => d.signature);
    const sigImpl = impl.filter((d) => d.signature);
    if (impl.length <= 1) picks.push(['signature', sigDecl.length > 0 ? sigDecl : sigImpl]);
    for (const [task, pick] of picks) {
      if (pick.length !== 1) continue;
      const d = pick[0];
      const text = lines(d.folder, d.file)[d.line - 1] ?? '';
      if (lineCounts.get(text.trim()) !== 1) continue;
      const span = spans.get(`${d.folder}\0${d.file}`)!;
      if (d.line >= span.lineTokenStarts.length) continue;
      let a = span.tokenStart + span.lineTokenStarts[d.line - 1];
      let b = span.tokenStart + span.lineTokenStarts[d.line];
      while (a < b && whitespace(tokens[a])) a++;
      while (b > a && whitespace(tokens[b - 1])) b--;
      if (a === b || b - a > maxAnswerTokens) continue;
      const line = Array.from({ length: b - a }, (_, i) => tokens[a + i]);
      const expectedTokens = o.answerStyle === 'name-first' ? [...tok.encode(nameFirstPrefix(name)), ...line] : line;
      const variant = Math.floor(unitHash(o.seed, `${task}:${name}`) * 3);
      out.push({
        task,
        name,
        package: packages[d.folder].package,
        question: questionFor(task, name, variant),
        folder: d.folder,
        path: d.file,
        line: d.line,
        expectedTokens,
        expectedText: tok.decode(expectedTokens),
      });
    }
  }
  return out
    .sort((x, y) => unitHash(o.seed, `ask:${x.task}:${x.package}:${x.name}`) - unitHash(o.seed, `ask:${y.task}:${y.package}:${y.name}`))
    .slice(0, o.max);
}
