// BENCHMARKS.md's tables, regenerated from bench/results/*.json.gz (older runs: .json): everything between the
// `bench:generated` markers is rewritten; the prose around them is kept. Only hardware results count (lavapipe
// figures mean nothing for speed).
// Several result files merge: for each (model, type, context, fill) the newest measurement wins.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { f1, gbs, pct, row, table } from './reportFormat';
import { renderPeerTables } from './reportPeer';
import { renderPipelineTable } from './reportPipeline';
import { renderObserveTable } from './observeCost';
import { renderMatvecLayoutTable } from './matvecSweep';
import { renderQuestSweepTable } from './questSweep';
import type { BenchResult, DecodeRun, ModelResult } from './results';
import { isResultsFile, readResultsFile } from './resultsFile';

const BEGIN = '<!-- bench:generated:begin (bench/report.ts rewrites this section from bench/results/*.json.gz) -->';
const END = '<!-- bench:generated:end -->';

export function readResults(dir: string): { file: string; result: BenchResult }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter(isResultsFile)
    .sort()
    .map((f) => ({ file: f, result: readResultsFile(join(dir, f)) as BenchResult }))
    .filter((r) => r.result.schema === 1 && !r.result.device.isSoftware);
}

export function writeBenchmarksMarkdown(resultsDir: string, markdownPath: string): void {
  const section = `${BEGIN}\n${renderTables(readResults(resultsDir))}${END}`;
  const old = existsSync(markdownPath) ? readFileSync(markdownPath, 'utf8') : '# Benchmarks\n';
  const a = old.indexOf(BEGIN.slice(0, 30));
  const b = old.indexOf(END);
  const next = a >= 0 && b > a ? old.slice(0, a) + section + old.slice(b + END.length) : `${old.trimEnd()}\n\n${section}\n`;
  writeFileSync(markdownPath, next);
}

interface Measured {
  readonly file: string;
  readonly run: BenchResult;
  readonly model: ModelResult;
}

/** The markdown of every table, from `results` (oldest first). */
export function renderTables(results: readonly { file: string; result: BenchResult }[]): string {
  if (results.length === 0) return '\n_No hardware results in bench/results yet: run `npm run bench` on a GPU._\n\n';
  const latest = new Map<string, Measured>();
  for (const { file, result } of [...results].sort((x, y) => x.result.date.localeCompare(y.result.date))) {
    for (const m of result.models) latest.set(`${m.model}|${m.weightType}|${m.context}|${m.fill}`, { file, run: result, model: m });
  }
  const all = [...latest.values()];
  const used = [...new Set(all.map((m) => m.file))];
  const out: string[] = [];
  out.push('### Runs\n');
  out.push(table(['result file', 'date (UTC)', 'commit', 'device', 'driver', 'Node / webgpu', 'copy bandwidth (kernel)', 'copyBufferToBuffer']));
  for (const f of used) {
    const r = results.find((x) => x.file === f)!.result;
    out.push(row([`bench/results/${f}`, r.date.slice(0, 16).replace('T', ' '), `${r.commit.slice(0, 10)}${r.dirty ? ' (+ uncommitted changes)' : ''}`, r.device.description, r.device.driver ?? '-', `${r.runtime.node} / ${r.runtime.webgpu}`, `${gbs(r.copyBytesPerSecond)} GB/s`,
      `${gbs(Math.max(r.copy.gpuBytesPerSecond ?? r.copy.wallBytesPerSecond, r.copyAtEnd?.gpuBytesPerSecond ?? 0))} GB/s`]));
  }
  const s = results[results.length - 1].result.settings;
  out.push(`\nSettings: pageSize ${s.pageSize}, KV ${s.kvType}, Quest denseLayers ${s.denseLayers}, aggregation ${s.aggregation}; ` +
    `${s.decodeTokens} decodeSteps timed per configuration (wall clock, greedy, through Engine.generate); GPU times are medians of ${s.profileReps} repetitions ` +
    `of one decodeStep (timestamp queries, quantization off). Copy bandwidth counts bytes read + written by a copy kernel over ${(results[results.length - 1].result.copy.bytes / 2 ** 30).toFixed(0)} GiB ` +
    '(the larger of the figures measured before and after the models; it is the limit every % below is against). tok/s = 1000 / median ms between tokens.' +
    `${ownSettings(all)}\n`);
  for (const section of [renderPeerTables(results), renderPipelineTable(results)]) if (section) out.push(section);

  const short = all.filter((m) => m.model.fill === 'prefill');
  if (short.length) {
    out.push('\n### Decode matmuls, load and prefill (real prefill)\n');
    out.push(table(['model', 'type', 'context', 'file GiB', 'load s', 'prefill tok/s', 'decode tok/s (dense)', 'GPU step µs', 'matmul GB/s', 'matmul / copy bandwidth']));
    for (const m of short) {
      const d = m.model.runs.find((r) => r.mode === 'dense')!;
      const p = d.profile;
      out.push(row([m.model.model, m.model.weightType, m.model.context, (m.model.fileBytes / 2 ** 30).toFixed(2), (m.model.loadMs / 1000).toFixed(2),
        m.model.prefillMs ? (m.model.context / (m.model.prefillMs / 1000)).toFixed(0) : '-', d.tokensPerSecond.toFixed(1), p ? p.stepGpuUs.toFixed(0) : '-',
        p ? gbs(p.matmul.bytesPerSecond) : '-', p ? pct(p.matmul.bytesPerSecond / m.run.copyBytesPerSecond) : '-']));
    }
    out.push('\nDecode matmuls by weight (one dense decodeStep; a weight\'s dispatches of all layers in one timed pass; µs alone = each dispatch in its own pass; MB = weight bytes in the GPU layout):\n');
    out.push(table(['model', 'type', 'context', 'weight', 'dispatches', 'MB', 'µs', 'µs alone', 'GB/s', '/ copy bandwidth']));
    for (const m of short) {
      const p = m.model.runs.find((r) => r.mode === 'dense')?.profile;
      for (const r of p?.matmul.roles ?? []) {
        out.push(row([m.model.model, m.model.weightType, m.model.context, r.role, r.count, (r.bytes / 1e6).toFixed(1), r.us.toFixed(1), r.aloneUs.toFixed(1), gbs(r.bytesPerSecond), pct(r.bytesPerSecond / m.run.copyBytesPerSecond)]));
      }
    }
    out.push('\nOne dense decodeStep by kernel (µs per step: each kernel\'s dispatches in one timed pass, in step order):\n');
    out.push(kernelTable(short.map((m) => ({ title: `${m.model.model} ${m.model.weightType} @${m.model.context}`, run: m.model.runs.find((r) => r.mode === 'dense')! }))));
  }

  // Long contexts, and model files at any context (their Quest runs use the model's own settings).
  const quest = all.filter((m) => m.model.fill === 'kvAppend' || m.model.file !== undefined);
  const groupKey = (m: Measured) => `${m.model.model}|${m.model.weightType}|${m.model.fill}`;
  for (const name of [...new Set(quest.map(groupKey))]) {
    const group = quest.filter((m) => groupKey(m) === name).sort((x, y) => x.model.context - y.model.context);
    const [model, type, fill] = name.split('|');
    out.push(`\n### Dense vs Quest: ${model} ${type} (${fill === 'kvAppend' ? 'KV filled by kvAppend with random keys and values' : 'real prefill of the context'})\n`);
    out.push(`${group[0].model.shape}; weights ${(group[0].model.weightBytes / 2 ** 30).toFixed(2)} GiB on the GPU.${groupSettings(group)} ` +
      'Attention columns are GPU µs per layer (dense: per dense layer; Quest: per sparse layer); speedups are against the dense row of the same context. ' +
      'MB/token = weights + K/V + page metadata read per decodeStep; limit = that over the copy bandwidth.\n');
    out.push(table(['context', 'mode', 'budget', 'pageScore µs', 'selectPages µs', 'sparse attn µs', 'Quest attn µs', 'dense attn µs', 'attention speedup', 'MB/token', 'limit µs', 'GPU step µs', 'ms/token', 'tok/s', 'decode speedup', '% of limit']));
    for (const m of group) {
      const dense = m.model.runs.find((r) => r.mode === 'dense')!;
      for (const r of m.model.runs) {
        const a = r.profile?.attention;
        const denseAttn = dense.profile?.attention.dense;
        out.push(row([m.model.context, r.mode, r.budget ?? '-', f1(a?.pageScore), f1(a?.selectPages), f1(a?.sparse), f1(a?.quest), f1(r.mode === 'dense' ? a?.dense : undefined),
          r.mode === 'quest' && a?.quest && denseAttn ? `${(denseAttn / a.quest).toFixed(2)}×` : '-', (r.traffic.total / 1e6).toFixed(0), r.limitUs.toFixed(0),
          f1(r.profile?.stepGpuUs), r.msPerToken.toFixed(3), r.tokensPerSecond.toFixed(1), r.mode === 'quest' ? `${(r.tokensPerSecond / dense.tokensPerSecond).toFixed(2)}×` : '-', pct(r.percentOfLimit / 100)]));
      }
    }
    out.push('\nGPU time of one decodeStep as one pass (µs) and its kernels, dense vs Quest at the largest context:\n');
    const last = group[group.length - 1];
    out.push(kernelTable(last.model.runs.map((r) => ({ title: `${r.mode}${r.budget ? ` ${r.budget}` : ''} @${last.model.context}`, run: r }))));
  }
  out.push(renderObserveTable(all.map((m) => m.model)));
  out.push(renderMatvecLayoutTable(all.map((m) => ({ model: m.model, copyBytesPerSecond: m.run.copyBytesPerSecond }))));
  out.push(renderQuestSweepTable(all.map((m) => m.model)));
  return `\n${out.join('\n')}\n\n`;
}

/** ` Pages of 4, 4 dense layers (as model/default.gguf recommends, …).` for results that record their own settings. */
function groupSettings(group: readonly Measured[]): string {
  const text = (m: ModelResult) => `pages of ${m.pageSize}, ${m.denseLayers} dense layers${m.file ? ` (as ${m.file} recommends, or the defaults where it names none)` : ''}`;
  const recorded = group.filter((m) => m.model.pageSize !== undefined);
  const kinds = [...new Set(recorded.map((m) => text(m.model)))];
  if (kinds.length === 0) return '';
  if (kinds.length === 1) return ` ${capitalize(kinds[0])}.`;
  return ` ${capitalize(recorded.map((m) => `${text(m.model)} at ${m.model.context}`).join('; '))}.`;
}

/** A sentence naming the model files and the settings they decode with (the Settings line's are the synthetic models'). */
function ownSettings(all: readonly Measured[]): string {
  const files = [...new Set(all.filter((m) => m.model.file !== undefined).map((m) => `${m.model.model} (${m.model.file}): pages of ${m.model.pageSize}, ${m.model.denseLayers} dense layers`))];
  return files.length ? ` Model files decode with the page size and dense layers they recommend, or these defaults where they name none: ${files.join('; ')}.` : '';
}

const capitalize = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);

function kernelTable(columns: readonly { title: string; run: DecodeRun }[]): string {
  const names = [...new Set(columns.flatMap((c) => c.run.profile?.categories.map((k) => k.name) ?? []))];
  const lines = [table(['kernel', ...columns.map((c) => c.title)])];
  const us = (c: { run: DecodeRun }, n: string) => c.run.profile?.categories.find((k) => k.name === n)?.us;
  names.sort((a, b) => (us(columns[0], b) ?? 0) - (us(columns[0], a) ?? 0));
  for (const n of names) lines.push(row([n, ...columns.map((c) => f1(us(c, n)))]));
  lines.push(row(['**sum of the groups**', ...columns.map((c) => f1(c.run.profile?.categorySumUs))]));
  lines.push(row(['**sum of dispatches timed alone**', ...columns.map((c) => f1(c.run.profile?.kernelSumUs))]));
  lines.push(row(['**step as one pass**', ...columns.map((c) => f1(c.run.profile?.stepGpuUs))]));
  lines.push(row(['**CPU: encode the step**', ...columns.map((c) => f1(c.run.profile?.encodeUs))]));
  lines.push(row(['**wall clock per token**', ...columns.map((c) => (c.run.msPerToken * 1000).toFixed(0))]));
  return lines.join('\n');
}

