// `quest-lens ask`: the extension's pipeline in one process, from the command line. Reads the workspace, prefills it
// (reusing the persisted KV cache), answers one question, and prints the answer, its citations (file:line written in
// the answer, and where its attention went) and the pages the answer selected per file; with --heatmap, writes the answer beside its page heatmap as a self-contained HTML file,
// drawn by the webview bundle (dist/webview/ beside dist/cli.js). Only results go to stdout; progress and timings go to stderr.
// Without --model it uses the built-in model (model/default.gguf beside dist/) and says what that model can answer.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildWebviewHtml } from '../extension/chat/html';
import type { SkippedFile } from '../extension/context/manifest';
import { DEFAULT_MAX_FILE_BYTES } from '../extension/context/readSource';
import { isBuiltinModelQuestion } from '../extension/models/builtinModel';
import type { InitialData } from '../webview/protocol';
import { integerFlag as int, numberFlag } from './cliArgs';
import { type Gpu, openGpu } from './device';
import { modelOrBuiltin, pageSizeFlag } from './modelChoice';
import type { DecodeSettings, ReaderSettings } from './protocol';
import { type FileSelection, pageSelectionCounts, pagesSelectedPerFile } from './session/citations';
import { WorkspaceSession } from './session/workspaceSession';

export const askUsage = `usage: quest-lens ask [--model FILE] [--workspace DIR ...] [--mode dense|quest] [--budget TOKENS]
                      [--page-size P] [--dense-layers L] [--aggregation max|sum] [--max-tokens N]
                      [--temperature T --seed S] [--context N] [--heatmap FILE.html [--trace-scores]]
                      [--json] [--cache-dir DIR | --no-cache] "question"
       (no --model: the built-in model, which answers where-is, definition and signature questions by quoting code)
       defaults: --mode quest, --budget 1024, --aggregation sum; --page-size and --dense-layers: the model's
       recommendation (questlens.page_size, questlens.dense_layers), else 16 and 2`;

const defaultReader: ReaderSettings = {
  include: [],
  exclude: [],
  filesExclude: {},
  searchExclude: {},
  useGitignore: true,
  maxFileBytes: DEFAULT_MAX_FILE_BYTES,
};

/**
 * A citation as --json prints it: protocol.ts's Citation with `file` for its path inside workspace folder `folder`
 * (an index into the --workspace list). 'answer': a file:line written in the answer; 'attention': the context pages
 * the answer paid the most attention to (`pages`, most attended first) and their share `mass` (0..1) of the
 * attention paid to the context's files. Answer citations come first, then attention citations, most attended first.
 */
export type AskCitation =
  | { readonly source: 'answer'; readonly file: string; readonly folder: number; readonly line: number; readonly endLine: number }
  | {
      readonly source: 'attention';
      readonly file: string;
      readonly folder: number;
      readonly line: number;
      readonly endLine: number;
      readonly pages: readonly number[];
      readonly mass: number;
    };

/** What --json prints: one object. */
export interface AskJson {
  /**
   * The model file, whether it is the built-in one (no --model given), and its KV page size: --page-size, else the
   * model's recommendation (`questlens.page_size`), else 16.
   */
  readonly model: { readonly path: string; readonly builtin: boolean; readonly pageSize: number };
  readonly answer: string;
  readonly reason: 'stop' | 'length' | 'cancelled';
  readonly citations: readonly AskCitation[];
  readonly contextTokens: number;
  readonly questionTokens: number;
  readonly files: number;
  readonly pagesSelectedPerFile: readonly FileSelection[];
  /** Why there are no attention citations, when none were possible (an answer of one token counts no attention). */
  readonly note?: string;
  readonly skipped: readonly SkippedFile[];
  /** Files decoded with U+FFFD in place of invalid UTF-8. */
  readonly invalidUtf8: readonly { path: string; sequences: number }[];
  readonly heatmap?: string;
  readonly timings: {
    readonly loadMs: number;
    readonly buildMs: number;
    readonly prefillMs: number;
    readonly prefilledTokens: number;
    readonly reusedTokens: number;
    readonly reusedFrom: 'memory' | 'disk' | 'none';
    readonly decodeMs: number;
    readonly decodeTokens: number;
    readonly decodeTokensPerSecond: number;
  };
}

export async function ask(argv: string[]): Promise<number> {
  const { values: a, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      workspace: { type: 'string', multiple: true },
      mode: { type: 'string', default: 'quest' },
      budget: { type: 'string', default: '1024' },
      'page-size': { type: 'string' },
      // Absent: the model's recommendation (questlens.dense_layers), else 2; decodePlan resolves it.
      'dense-layers': { type: 'string' },
      aggregation: { type: 'string', default: 'sum' },
      'max-tokens': { type: 'string', default: '128' },
      temperature: { type: 'string', default: '0' },
      seed: { type: 'string', default: '0' },
      context: { type: 'string', default: '8192' },
      heatmap: { type: 'string' },
      'trace-scores': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'cache-dir': { type: 'string' },
      'no-cache': { type: 'boolean', default: false },
    },
  });
  const question = positionals.join(' ').trim();
  if (!question) {
    console.error(`quest-lens ask: the question is missing\n\n${askUsage}`);
    return 2;
  }
  const model = modelOrBuiltin('ask', a.model, __dirname);
  if (typeof model === 'string') {
    console.error(model);
    return 2;
  }
  if (a.mode !== 'dense' && a.mode !== 'quest') throw new Error(`--mode must be dense or quest, got '${a.mode}'`);
  if (a.aggregation !== 'max' && a.aggregation !== 'sum') throw new Error(`--aggregation must be max or sum, got '${a.aggregation}'`);
  const temperature = numberFlag('temperature', a.temperature);
  const decode: DecodeSettings = {
    mode: a.mode,
    tokenBudget: int('budget', a.budget),
    ...(a['dense-layers'] !== undefined ? { denseLayers: int('dense-layers', a['dense-layers']) } : {}),
    aggregation: a.aggregation,
    temperature,
    maxAnswerTokens: int('max-tokens', a['max-tokens']),
    seed: int('seed', a.seed),
    ...(a['trace-scores'] ? { traceScores: true } : {}),
  };
  const pageSize = pageSizeFlag(a['page-size']);
  const maxContext = int('context', a.context);
  const dirs = (a.workspace?.length ? a.workspace : [process.cwd()]).map((d) => resolve(d));
  for (const d of dirs) if (!existsSync(d)) throw new Error(`--workspace ${d} does not exist`);
  // The heatmap's renderer: read before any GPU work, so a missing bundle fails fast.
  const assets = a.heatmap !== undefined ? webviewAssets() : undefined;
  if (typeof assets === 'string') throw new Error(assets);

  const status = (s: string) => console.error(`[quest-lens] ${s}`);
  for (const line of model.notice) status(line);
  if (model.builtin && !isBuiltinModelQuestion(question)) {
    status('this question is not one the built-in model was trained on: expect a quoted line at best, not an explanation');
  }
  const controller = new AbortController();
  const onSigint = () => {
    status('interrupted: stopping');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  let gpu: Promise<Gpu> | undefined;
  const session = new WorkspaceSession(() => (gpu ??= openGpu()), {
    kvCacheDir: a['no-cache'] ? null : a['cache-dir'] !== undefined ? resolve(a['cache-dir']) : undefined,
    log: (level, message) => status(`${level}: ${message}`),
  });
  const signal = controller.signal;
  try {
    const t0 = performance.now();
    const loaded = await session.loadModel({ path: model.path, maxContext, pageSize }, { signal });
    const loadMs = performance.now() - t0;
    const pages = `pages of ${loaded.pageSize}${pageSize === undefined && loaded.recommendedPageSize !== undefined ? " (the model's recommendation)" : ''}`;
    status(`${loaded.name} (${loaded.architecture}, ${loaded.layers} layers) on ${loaded.adapter.description}: ${loaded.maxContext}-token cache, ${pages}, loaded in ${loadMs.toFixed(0)} ms`);

    const t1 = performance.now();
    const built = await session.buildContext(
      {
        folders: dirs.map((path) => ({ name: basename(path), path })),
        reader: defaultReader,
        question,
        // The answer's room: the requested tokens plus the question's framing.
        reserveTokens: Math.min(decode.maxAnswerTokens + 64, Math.floor(loaded.maxContext / 2)),
      },
      { signal },
    );
    const buildMs = performance.now() - t1;
    const manifest = built.manifest;
    status(`context: ${manifest.files.length} files, ${manifest.totalTokens} tokens (${built.skipped.length} skipped) in ${buildMs.toFixed(0)} ms`);

    const prefill = await session.prefill({ signal });
    const prefilled = prefill.tokens - prefill.reused;
    status(
      `prefill: ${prefilled} tokens in ${prefill.ms.toFixed(0)} ms` +
        (prefilled > 0 ? ` (${(prefilled / (prefill.ms / 1000)).toFixed(1)} tok/s)` : '') +
        `; ${prefill.reused} reused from ${prefill.source}`,
    );

    const r = await session.answer(
      { question, decode },
      { signal, ...(a.json ? {} : { onToken: (text: string) => process.stdout.write(text) }) },
    );
    if (!a.json) process.stdout.write('\n');
    const perFile = pagesSelectedPerFile(pageSelectionCounts(r.trace.steps, manifest, r.trace.pageBudget), manifest);
    const note = r.trace.attention === undefined ? 'the answer is one token: no decodeStep counted attention, so none is cited' : undefined;

    let heatmap: string | undefined;
    if (a.heatmap !== undefined && assets !== undefined) {
      heatmap = resolve(a.heatmap);
      const data: InitialData = {
        view: 'heatmap',
        standalone: true,
        title: question,
        // The heatmap draws steps at positions >= contextTokens; the first step's query is the last prompt token.
        heatmap: {
          turnId: 'ask',
          trace: { ...r.trace, contextTokens: Math.min(r.trace.contextTokens, r.trace.steps[0]?.position ?? r.trace.contextTokens) },
          manifest,
          pageTexts: session.pageTexts(r.trace.promptTokens),
        },
      };
      writeFileSync(heatmap, buildWebviewHtml({ title: `Quest Lens: ${question}`, data, assets: { kind: 'standalone', ...assets } }));
    }

    const folderName = (i: number) => basename(dirs[i]);
    const result: AskJson = {
      model: { path: loaded.path, builtin: model.builtin, pageSize: loaded.pageSize },
      answer: r.answer,
      reason: r.reason,
      citations: r.citations.map(({ path, ...c }) => ({ file: path, ...c })),
      contextTokens: manifest.totalTokens,
      questionTokens: r.questionTokens,
      files: manifest.files.length,
      pagesSelectedPerFile: perFile,
      ...(note ? { note } : {}),
      skipped: built.skipped,
      invalidUtf8: manifest.files.filter((f) => f.invalidUtf8).map((f) => ({ path: f.path, sequences: f.invalidUtf8! })),
      ...(heatmap ? { heatmap } : {}),
      timings: {
        loadMs,
        buildMs,
        prefillMs: prefill.ms,
        prefilledTokens: prefilled,
        reusedTokens: prefill.reused,
        reusedFrom: prefill.source,
        decodeMs: r.decodeMs,
        decodeTokens: r.trace.steps.length,
        decodeTokensPerSecond: r.decodeTokensPerSecond,
      },
    };
    if (a.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const out: string[] = [];
      if (r.reason !== 'stop') out.push(`(${r.reason === 'length' ? `stopped at --max-tokens ${decode.maxAnswerTokens}` : 'cancelled'})`);
      out.push('', 'citations:');
      if (result.citations.length === 0) out.push('  none');
      for (const c of result.citations) {
        const why = c.source === 'answer' ? 'written in the answer' : `${(c.mass * 100).toFixed(1)}% of the answer's attention to the files`;
        out.push(`  ${folderName(c.folder)}/${c.file}:${c.line}${c.endLine > c.line ? `-${c.endLine}` : ''}  (${why})`);
      }
      if (note) out.push(`  ${note}`);
      out.push('', 'pages selected per file:');
      if (perFile.length === 0) out.push('  none');
      for (const f of perFile.slice(0, 10)) out.push(`  ${f.path}  ${f.pages} pages, ${f.selections} selections`);
      if (perFile.length > 10) out.push(`  … ${perFile.length - 10} more files`);
      if (built.skipped.length > 0 || result.invalidUtf8.length > 0) {
        out.push('', 'left out or altered:');
        // A large workspace leaves hundreds of files out for room alone: one line for those (--json lists each).
        const overBudget = built.skipped.filter((f) => f.reason === 'over-budget').length;
        for (const s of built.skipped) if (s.reason !== 'over-budget') out.push(`  ${s.path}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`);
        if (overBudget > 0) out.push(`  ${overBudget} files did not fit the ${loaded.maxContext}-token context (a larger --context holds more; --json lists them)`);
        for (const f of result.invalidUtf8) out.push(`  ${f.path}: ${f.sequences} invalid UTF-8 sequences read as U+FFFD`);
      }
      out.push('', heatmap ? `heatmap: ${heatmap}` : 'heatmap: add --heatmap FILE.html to write the answer beside its page heatmap');
      process.stdout.write(`${out.join('\n')}\n`);
    }
    status(
      `decode: ${r.trace.steps.length} tokens in ${r.decodeMs.toFixed(0)} ms (${r.decodeTokensPerSecond.toFixed(1)} tok/s), mode ${decode.mode}` +
        (decode.mode === 'quest'
          ? `, pageBudget ${r.trace.pageBudget} of ${Math.ceil(r.trace.contextTokens / r.trace.pageSize)} pages, ${r.trace.denseLayers} dense layers` +
            (decode.denseLayers === undefined && loaded.recommendedDenseLayers !== undefined ? " (the model's recommendation)" : '')
          : ''),
    );
    return signal.aborted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSigint);
    session.dispose();
    if (gpu) (await gpu.catch(() => undefined))?.dispose();
  }
}

/** The built webview bundle beside this CLI (dist/webview/main.{js,css}), or why it cannot be had. */
function webviewAssets(): { script: string; style: string } | string {
  const dir = join(__dirname, 'webview');
  const script = join(dir, 'main.js');
  const style = join(dir, 'main.css');
  if (!existsSync(script) || !existsSync(style)) {
    return `the heatmap needs the webview bundle at ${script} and ${style}, which are missing: build them with \`node build.mjs\` (they ship in the package's dist/webview/)`;
  }
  return { script: readFileSync(script, 'utf8'), style: readFileSync(style, 'utf8') };
}
