// The model card's evaluation tables, from one results file (eval/results/*.json.gz; older runs' .json read too):
// everything between the `eval:generated` markers of model/README.md is rewritten; the text around them is kept.
// Nothing in the tables is typed by hand. (The marker says RESULTS.json: it is matched as it stands in the card.)
import { readFileSync, writeFileSync } from 'node:fs';
import { readResultsFile } from '../bench/resultsFile';
import { pairedGap, wilson } from './interval';
import type { EvalResult, SummaryRow } from './results';

export const cardBegin = '<!-- eval:generated:begin (node dist/eval.mjs report RESULTS.json rewrites this section) -->';
export const cardEnd = '<!-- eval:generated:end -->';

/** Issue 10's targets, checked at this context length. */
const TARGET_LENGTH = 8192;

const pct = (x: number | null) => (x === null ? 'not measured' : `${(100 * x).toFixed(1)}%`);
const k = (n: number) => (n % 1024 === 0 ? `${n / 1024}K` : String(n));
const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
const head = (cells: readonly string[]) => `${row(cells)}\n|${cells.map(() => '---').join('|')}|`;

/** The markdown of every table of `r`, which came from `file`. */
export function renderEval(r: EvalResult, file: string): string {
  const out: string[] = [];
  const s = r.settings;
  out.push(
    `Run \`${file}\`: ${r.date.slice(0, 16).replace('T', ' ')} UTC, commit ${r.commit.slice(0, 10)}${r.dirty ? ' (+ uncommitted changes)' : ''}, ` +
      `${r.device.description}${r.device.driver ? ` (${r.device.driver})` : ''}${r.device.isSoftware ? ' — a software adapter' : ''}; ` +
      `model \`${r.model.name}\` (${r.model.bytes} bytes, sha256 \`${r.model.sha256.slice(0, 16)}…\`, answer style ${r.model.answerStyle}, KV ${r.model.kvType}); ` +
      `${r.corpus.packages.length} held-out packages (\`heldout-questions.json\` sha256 \`${r.corpus.questionsSha256.slice(0, 16)}…\`). ` +
      `Greedy; page size ${s.pageSize}; Quest keeps the first ${s.denseLayers} layers dense, aggregation ${s.aggregation}; ` +
      `every configuration answers from the same prefill. ${r.seconds.toFixed(0)} s in all.`,
  );
  const summary = (length: number, config: string, task: SummaryRow['task']) => r.summary.find((x) => x.length === length && x.config === config && x.task === task);
  const lengths = [...new Set(r.summary.map((x) => x.length))];

  for (const task of ['definition', 'signature'] as const) {
    out.push(`\n**Quoted line exact, ${task} questions** (held-out workspaces):\n`);
    out.push(head(['context', 'questions', ...r.configs]));
    for (const length of lengths) {
      const n = summary(length, 'dense', task)?.questions ?? 0;
      out.push(row([k(length), n, ...r.configs.map((c) => (n === 0 ? '–' : pct(summary(length, c, task)?.exact ?? null)))]));
    }
  }

  out.push('\n**All questions** (definition and signature): exact match of the quoted line, first answer token, and the top attention citation (right file; right line ±' + `${s.citationLineSlack}):\n`);
  out.push(head(['context', 'configuration', 'questions', 'exact', 'first token', 'citation: file', `citation: line ±${s.citationLineSlack}`]));
  for (const length of lengths) {
    for (const c of r.configs) {
      const x = summary(length, c, 'all');
      if (x) out.push(row([k(length), c, x.questions, pct(x.exact), pct(x.firstToken), pct(x.citationFile), pct(x.citationLine)]));
    }
  }
  if (!r.citations.available) out.push(`\nCitations: ${r.citations.note ?? 'not measured'}.`);

  if (r.passkey.length > 0) {
    out.push('\n**Passkey retrieval** (the shape of the Quest paper\'s Table 1: a 5-digit key at a random depth of filler text, found in the first 8 answer tokens):\n');
    out.push(head(['context', 'prompt tokens', 'keys', ...r.configs]));
    for (const p of r.passkey) out.push(row([k(p.length), p.promptTokens, p.keys, ...r.configs.map((c) => pct(p.accuracy[c] ?? null))]));
  }

  const dense = summary(TARGET_LENGTH, 'dense', 'definition');
  const denseAll = summary(TARGET_LENGTH, 'dense', 'all');
  const quest512 = summary(TARGET_LENGTH, 'quest 512', 'definition');
  if (dense && denseAll) {
    out.push(`\n**Issue 10's targets at ${k(TARGET_LENGTH)}** (95% interval: Wilson's for a share, paired per question for a gap; eval/interval.ts):\n`);
    out.push(head(['target', 'measured', '95% interval', 'met?']));
    const met = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? 'yes' : 'no');
    const records = r.records.filter((x) => x.length === TARGET_LENGTH);
    const right = (task: 'definition' | 'all', config: string, score: 'exact' | 'citationFile') =>
      records.filter((x) => task === 'all' || x.task === task).map((x) => x.answers[config]?.[score] === true);
    const share = (outcomes: boolean[]) => {
      const [low, high] = wilson(outcomes.filter(Boolean).length, outcomes.length);
      return `${pct(low)} – ${pct(high)}`;
    };
    out.push(row(['dense quotes the right definition ≥ 80%', pct(dense.exact), share(right('definition', 'dense', 'exact')), met(dense.exact >= 0.8)]));
    const file = denseAll.citationFile;
    out.push(row(['dense cites the right file ≥ 90%', pct(file), file === null ? '-' : share(right('all', 'dense', 'citationFile')), met(file === null ? null : file >= 0.9)]));
    if (quest512) {
      const gap = 100 * (dense.exact - quest512.exact);
      const g = pairedGap(right('definition', 'quest 512', 'exact'), right('definition', 'dense', 'exact'));
      const points = (x: number) => `${x < 0 ? '−' : '+'}${Math.abs(100 * x).toFixed(1)}`;
      out.push(row(['Quest 512 within 2 points of dense (definitions)', `${gap >= 0 ? '−' : '+'}${Math.abs(gap).toFixed(1)} points`, `${points(g.low)} … ${points(g.high)} points`, met(gap <= 2)]));
    }
  }
  if (r.notes.length > 0) out.push(`\nNotes: ${r.notes.join('; ')}.`);
  return `${out.join('\n')}\n`;
}

/** Rewrites the section between the markers of `cardPath` with the tables of `resultsFile`. */
export function writeCard(resultsFile: string, cardPath: string): void {
  const r = readResultsFile(resultsFile) as EvalResult;
  if (r.schema !== 1) throw new Error(`${resultsFile}: schema ${String(r.schema)}, expected 1 (an eval/results file)`);
  const card = readFileSync(cardPath, 'utf8');
  const a = card.indexOf(cardBegin);
  const b = card.indexOf(cardEnd);
  if (a < 0 || b < a) throw new Error(`${cardPath} has no '${cardBegin}' … '${cardEnd}' section to fill`);
  writeFileSync(cardPath, `${card.slice(0, a)}${cardBegin}\n${renderEval(r, resultsFile)}${card.slice(b)}`);
}
