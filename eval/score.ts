// How one answer is scored against its question (pure; test/unit/evalScore.test.ts has hand-made cases):
//   exact        the model stopped (end-of-text) and its answer is the quoted line, ignoring whitespace at both ends
//                (the leading space of the first token, the indentation a quote drops)
//   first token  the first answer token is the expected one (default-model-findings.md: every error starts there)
//   citation     the engine's top attention citation names the answer's file, and its line range comes within
//                `lineSlack` lines of the answer line (±2 in the tables)

/** Where the right answer is: workspace folder index, path inside it, 1-based line. */
export interface AnswerSite {
  readonly folder: number;
  readonly path: string;
  readonly line: number;
}

/** A cited range, as the engine's citations give it. */
export interface CitedRange {
  readonly folder: number;
  readonly path: string;
  readonly line: number;
  readonly endLine: number;
}

/** Lines of slack the citation line accuracy allows (the findings' "line ±2"). */
export const citationLineSlack = 2;

export function exactMatch(answer: string, expected: string, stopped: boolean): boolean {
  return stopped && answer.trim() === expected.trim() && expected.trim() !== '';
}

export function firstTokenRight(answerTokens: readonly number[], expectedTokens: readonly number[]): boolean {
  return answerTokens.length > 0 && expectedTokens.length > 0 && answerTokens[0] === expectedTokens[0];
}

export function citationFileRight(cited: CitedRange | undefined, site: AnswerSite): boolean {
  return cited !== undefined && cited.folder === site.folder && cited.path === site.path;
}

/** Right file, and the answer line at most `slack` lines outside the cited range [line, endLine]. */
export function citationLineRight(cited: CitedRange | undefined, site: AnswerSite, slack = citationLineSlack): boolean {
  if (!cited || !citationFileRight(cited, site)) return false;
  const distance = site.line < cited.line ? cited.line - site.line : site.line > cited.endLine ? site.line - cited.endLine : 0;
  return distance <= slack;
}
