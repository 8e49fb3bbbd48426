// One evaluation run through the product's own path (gpu/session/WorkspaceSession, the engine on WebGPU): per
// context length the model is loaded with a cache of exactly that length; held-out packages, grouped into workspaces
// of about that many tokens, are read and packed by the extension's reader as the corpus builder packed them
// (corpusSkipDirs, path order), prefilled once, and asked each askable question (questions.ts) greedily, dense and
// with Quest at every budget from the same prefill; then the passkey row of that length. Results are saved after
// every workspace, gzip-compressed (bench/resultsFile.ts).
import { readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { commit, driver, fileSha256, packageVersion } from '../bench/provenance';
import { resultsExtension, writeResultsFile } from '../bench/resultsFile';
import type { Gpu } from '../gpu/device';
import { readGguf } from '../gpu/gguf/reader';
import { readModelConfig } from '../gpu/model/config';
import type { DecodeSettings, ReaderSettings } from '../gpu/protocol';
import { decodePlan } from '../gpu/session/decodeSettings';
import { WorkspaceSession } from '../gpu/session/workspaceSession';
import { MAX_FILE_BYTES } from '../model/corpus/corpusFiles';
import { corpusSkipDirs } from '../model/corpus/packagePacker';
import { type AnswerStyle, answerStyles, promptFormatId } from '../model/corpus/promptFormat';
import { choosePackages, readHeldOut, workspaceGroups } from './heldout';
import { type EvalOptions, UsageError, evalLayers, evalPageSize } from './options';
import { type PasskeyConfig, passkeyRow, seededRandom } from './passkey';
import { chooseQuestions, maxAnswerTokens } from './questions';
import type { EvalAnswer, EvalRecord, EvalResult, EvalWorkspace, PasskeyResult } from './results';
import { type CitedRange, citationFileRight, citationLineRight, citationLineSlack, exactMatch, firstTokenRight } from './score';
import { summarize } from './summary';

/** Tokens kept free after the files: the question (≤ 40), a name-first prefix, the longest quoted line, its end. */
export const reserveTokens = 160;
/** Tokens an answer may run past the expected one (a wrong answer is seen a little further; a right one has stopped). */
const ANSWER_SLACK = 8;
/** Share of each length's time kept for its pass keys when a time limit is set. */
const PASSKEY_SHARE = 0.2;

/** The held-out workspaces as the corpus builder walked them: nothing ignored but the corpus's skip list. */
const corpusReader: ReaderSettings = { include: [], exclude: [], filesExclude: {}, searchExclude: {}, useGitignore: false, maxFileBytes: MAX_FILE_BYTES };

export interface EvalIo {
  readonly log: (line: string) => void;
  /** The command line, recorded in the results. */
  readonly command: string;
}

export async function runEval(o: EvalOptions, gpu: Gpu, io: EvalIo): Promise<{ result: EvalResult; file: string }> {
  const t0 = performance.now();
  const gguf = await readGguf(o.model);
  const meta = (key: string) => {
    const v = gguf.metadata.get(key);
    return typeof v === 'string' ? v : null;
  };
  const style = meta('questlens.answer_style') ?? 'line';
  if (!answerStyles.includes(style as AnswerStyle)) throw new UsageError(`--model ${o.model}: its questlens.answer_style is '${style}', expected one of ${answerStyles.join(', ')}`);
  const answerStyle = style as AnswerStyle;
  const notes: string[] = [];
  if (meta('questlens.prompt_format') !== promptFormatId) {
    notes.push(`the model does not name the ${promptFormatId} prompt format (questlens.prompt_format is ${meta('questlens.prompt_format') ?? 'absent'}); it was asked in that format anyway`);
  }
  const heldOut = readHeldOut(o.corpus);
  const packages = choosePackages(heldOut, o.workspaces, o.seed);
  const session = new WorkspaceSession(async () => gpu, { kvCacheDir: null, log: (level, m) => io.log(`${level}: ${m}`) });

  const cfg = readModelConfig(gguf);
  const pageSize = evalPageSize(o, cfg.recommendedPageSize);
  // Resolved once here, so that the results record the values used (the model's recommendations when no flag).
  const { denseLayers, attentionLayers } = evalLayers(o, cfg);
  const dense: DecodeSettings = { mode: 'dense', tokenBudget: pageSize, denseLayers, aggregation: o.aggregation, temperature: 0, maxAnswerTokens: 1, seed: 0 };
  const configs: { name: string; decode: DecodeSettings }[] = [
    { name: 'dense', decode: dense },
    ...o.budgets.map((b) => ({ name: `quest ${b}`, decode: { ...dense, mode: 'quest' as const, tokenBudget: b } })),
  ];
  const date = new Date().toISOString();
  const source = commit('EVAL');
  const device = { description: gpu.summary.description, vendor: gpu.summary.vendor, architecture: gpu.summary.architecture, ...driver(), isSoftware: gpu.summary.isSoftware };
  const model = {
    path: o.model,
    name: basename(o.model),
    bytes: statSync(o.model).size,
    sha256: await fileSha256(o.model),
    answerStyle,
    promptFormat: meta('questlens.prompt_format'),
    kvType: '',
  };
  const workspaces: EvalWorkspace[] = [];
  const records: EvalRecord[] = [];
  const passkey: PasskeyResult[] = [];
  let citationsSeen = false;
  const result = (): EvalResult => ({
    schema: 1,
    date,
    ...source,
    command: io.command,
    device,
    runtime: { node: process.version, webgpu: packageVersion('webgpu') },
    model,
    corpus: { path: o.corpus, questionsSha256: heldOut.questionsSha256, packages: packages.map((p) => p.package) },
    settings: {
      lengths: o.lengths,
      budgets: o.budgets,
      maxQuestions: o.maxQuestions,
      perWorkspace: o.perWorkspace,
      passkeys: o.passkeys,
      pageSize,
      denseLayers,
      aggregation: o.aggregation,
      attentionLayers,
      seed: o.seed,
      timeLimitSeconds: Number.isFinite(o.timeLimit) ? o.timeLimit : null,
      reserveTokens,
      citationLineSlack,
    },
    configs: configs.map((c) => c.name),
    citations: citationsSeen
      ? { source: 'attention', available: true }
      : { source: 'attention', available: false, note: "the engine returned no citation with source 'attention' in this run: citation columns are not measured" },
    workspaces,
    records,
    summary: summarize(records, configs.map((c) => c.name), citationsSeen),
    passkey,
    notes,
    seconds: (performance.now() - t0) / 1000,
  });
  await mkdir(o.out, { recursive: true });
  const file = join(o.out, `${date.slice(0, 19).replace(/[:T]/g, '-')}-${slug(device.description)}${resultsExtension}`);
  const save = () => writeResultsFile(file, result());
  const random = seededRandom(o.seed);

  try {
    for (const [i, length] of o.lengths.entries()) {
      const share = (o.timeLimit * 1000) / o.lengths.length;
      const lengthEnd = Number.isFinite(share) ? t0 + share * (i + 1) : Infinity;
      const askEnd = Number.isFinite(share) ? lengthEnd - (o.passkeys > 0 ? share * PASSKEY_SHARE : 0) : Infinity;
      const loaded = await session.loadModel({ path: o.model, maxContext: length, pageSize, attentionLayers });
      if (loaded.maxContext < length) throw new UsageError(`--lengths ${length}: ${model.name} holds at most ${loaded.contextLength} tokens of context`);
      const engine = session.engine!;
      model.kvType = engine.info.kv.kvType;
      const tok = engine.tokenizer;
      const questionTok = {
        encode: (text: string) => tok.encode(text, { addBos: false, parseSpecial: false }),
        decode: (ids: readonly number[]) => tok.decode(ids),
        tokenBytes: (id: number) => tok.tokenBytes(id),
      };
      let asked = 0;
      for (const group of workspaceGroups(packages, length)) {
        if (asked >= o.maxQuestions) break;
        if (performance.now() > askEnd) {
          notes.push(`${length} tokens: stopped asking after ${asked} of ${o.maxQuestions} questions (--time-limit ${o.timeLimit} s)`);
          break;
        }
        const tb = performance.now();
        const built = await session.buildContext({
          folders: group.map((p) => ({ name: p.package, path: p.dir })),
          reader: corpusReader,
          question: '',
          reserveTokens,
          kvCacheDir: null,
          walk: { skipDirs: corpusSkipDirs, order: 'path' },
        });
        const buildMs = performance.now() - tb;
        const manifest = built.manifest;
        const texts = new Map<string, readonly string[]>();
        const lines = (folder: number, path: string) => {
          const key = `${folder}\0${path}`;
          if (!texts.has(key)) texts.set(key, readFileSync(join(group[folder].dir, path), 'utf8').split('\n'));
          return texts.get(key)!;
        };
        const questions = chooseQuestions(manifest, session.contextTokens!, group, lines, questionTok, {
          answerStyle,
          seed: o.seed,
          max: Math.min(o.perWorkspace, o.maxQuestions - asked),
        });
        // A workspace with nothing to ask is not prefilled (on a software adapter the prefill is most of the time).
        const prefillMs = questions.length > 0 ? (await session.prefill()).ms : 0;
        const index = workspaces.length;
        workspaces.push({ length, packages: group.map((p) => p.package), files: manifest.files.length, contextTokens: manifest.totalTokens, questions: questions.length, buildMs, prefillMs });
        for (const q of questions) {
          const answers: Record<string, EvalAnswer> = {};
          for (const c of configs) {
            const r = await session.answer({ question: q.question, decode: { ...c.decode, maxAnswerTokens: q.expectedTokens.length + ANSWER_SLACK } });
            const produced = r.trace.steps.map((s) => s.token);
            const stopped = r.reason === 'stop';
            const tokens = stopped ? produced.slice(0, -1) : produced;
            const text = tok.decode(tokens);
            // The most attended range first (gpu/session/citations.ts attentionCitations).
            const top = r.citations.find((x) => x.source === 'attention');
            const cited: CitedRange | undefined = top && { folder: top.folder, path: top.path, line: top.line, endLine: top.endLine };
            if (cited) citationsSeen = true;
            answers[c.name] = {
              text,
              tokens,
              stopped,
              exact: exactMatch(text, q.expectedText, stopped),
              firstToken: firstTokenRight(tokens, q.expectedTokens),
              ...(cited ? { cited } : {}),
              citationFile: citationFileRight(cited, q),
              citationLine: citationLineRight(cited, q),
              decodeMs: r.decodeMs,
            };
          }
          records.push({
            length,
            workspace: index,
            task: q.task,
            name: q.name,
            package: q.package,
            path: q.path,
            line: q.line,
            question: q.question,
            expected: q.expectedText,
            expectedTokens: q.expectedTokens,
            answers,
          });
        }
        asked += questions.length;
        io.log(
          `${length} tokens: workspace ${index} (${group.map((p) => p.package).join(', ')}): ${manifest.files.length} files, ${manifest.totalTokens} tokens, ` +
            `prefill ${prefillMs.toFixed(0)} ms, ${questions.length} questions; ${asked}/${o.maxQuestions} asked, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
        );
        save();
      }
      if (asked < o.maxQuestions && performance.now() <= askEnd) {
        notes.push(`${length} tokens: ${asked} of ${o.maxQuestions} questions: the chosen packages had no more askable questions (raise --workspaces)`);
      }

      if (o.passkeys > 0) {
        session.clear();
        const quest = (d: DecodeSettings) => decodePlan(d, { pageSize: engine.info.kv.pageSize, maxPages: engine.info.kv.maxPages, layers: engine.info.config.layers }).quest;
        const passkeyConfigs: PasskeyConfig[] = configs.map((c) => ({ name: c.name, quest: quest(c.decode) }));
        const row = await passkeyRow(engine, length, passkeyConfigs, o.passkeys, random, lengthEnd);
        if (row.keys < o.passkeys) notes.push(`${length} tokens: ${row.keys} of ${o.passkeys} pass keys (--time-limit ${o.timeLimit} s)`);
        passkey.push({
          length,
          promptTokens: row.promptTokens,
          keys: row.keys,
          accuracy: Object.fromEntries(Object.entries(row.found).map(([k, n]) => [k, row.keys > 0 ? n / row.keys : 0])),
        });
        io.log(`${length} tokens: pass keys ${configs.map((c) => `${c.name} ${row.found[c.name]}/${row.keys}`).join(', ')}`);
        save();
      }
    }
  } finally {
    session.dispose();
  }
  const final = result();
  writeResultsFile(file, final);
  return { result: final, file };
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);
