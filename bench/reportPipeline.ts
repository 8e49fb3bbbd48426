// BENCHMARKS.md's table of the extension's pipeline (bench/pipelineBench.ts): time to the first answer token, cold,
// warm and after an edit, from the newest run that measured it.
import type { PipelineStageName } from './pipelineBench';
import { row, sec, table } from './reportFormat';
import type { BenchResult } from './results';

const what: Record<PipelineStageName, string> = {
  cold: 'cold: new engine process, nothing persisted',
  warmDisk: 'warm: new engine process, KV cache persisted on disk',
  warmMemory: 'warm: next question, context in the KV cache',
  editFirst: 'after editing a file in the middle of the context',
  editAgain: 'after editing the same file again (now last)',
};

export function renderPipelineTable(results: readonly { file: string; result: BenchResult }[]): string {
  const newest = [...results].filter((r) => r.result.pipeline).sort((x, y) => x.result.date.localeCompare(y.result.date)).pop();
  if (!newest) return '';
  const p = newest.result.pipeline!;
  const d = p.decode;
  const out = [
    '\n### Time to the first answer token (the extension\'s pipeline)\n',
    `gpu/session/WorkspaceSession (what the engine process runs for each question: context/build → context/prefill → answer/generate) on a copy of ` +
      `this repository's ${p.workspace.folders.join(' and ')} (${p.workspace.files} files, ${(p.workspace.bytes / 1024).toFixed(0)} KiB; ` +
      `${p.workspace.filesInContext} files fit the ${p.maxContext}-token window, ${p.workspace.skipped} left out), ${p.model} ${p.weightType} (${p.shape}) ` +
      `with the ${p.tokenizer} tokenizer, pages of ${p.pageSize}, ${d.mode} ${d.mode === 'quest' ? `budget ${d.tokenBudget}, ${d.denseLayers} dense layers, ${d.aggregation}` : ''}; ` +
      `bench/results/${newest.file}. Time to first token = build + prefill + the answer's first token (model loaded); ` +
      'prefill includes restoring from or persisting to the KV cache file.\n',
    table(['stage', 'load s', 'build s', 'prefill s', 'of it persist s', 'context tokens', 'prefilled', 'reused (from)', 'first token ms', 'time to first token s', 'answer tok/s']),
  ];
  for (const s of p.stages) {
    out.push(row([what[s.stage] + (s.editedFile ? ` (${s.editedFile}, from token ${s.editedTokenStart})` : ''), sec(s.loadMs), sec(s.buildMs), sec(s.prefillMs), sec(s.persistMs), s.contextTokens,
      s.prefilledTokens, `${s.reusedTokens} (${s.reusedFrom})`, s.firstTokenMs.toFixed(0), sec(s.timeToFirstTokenMs), s.decodeTokensPerSecond.toFixed(1)]));
  }
  return out.join('\n');
}
