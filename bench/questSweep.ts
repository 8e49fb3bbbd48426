// Quest's selection kernels at other settings than the engine's, timed on a loaded model's own cache: pageScore with
// more or fewer workgroups, selectPages with more or fewer threads, each over every sparse layer in one timed pass
// (as decodeProfile times a kernel's dispatches), per context and budget. What the engine's defaults
// (pageScoreWorkgroups, selectPages' 256 threads) should be is read from here.
import type { Engine } from '../gpu/engine';
import { type Aggregation, pageScore, pageScoreParams } from '../gpu/kernels/pageScore';
import type { Dispatch } from '../gpu/kernels/registry';
import { selectPages, selectPagesParams, selectPagesThreads } from '../gpu/kernels/selectPages';
import { type GpuTimer, median } from './gpuTimer';
import { f1, row, table } from './reportFormat';
import type { ModelResult } from './results';

export interface QuestKernelTime {
  readonly kernel: 'pageScore' | 'selectPages';
  /** pageScore: workgroups in all (over the KV heads; 0 = as many as the pages need); selectPages: threads. */
  readonly setting: number;
  /** selectPages: the token budget. */
  readonly budget?: number;
  /** The engine's own setting. */
  readonly engine: boolean;
  /** Median GPU µs of the kernel's dispatches over every sparse layer in one pass, divided by those layers. */
  readonly usPerLayer: number;
}

const pageScoreTotals = [256, 1024, 4096, 0];
const selectThreads = [128, 256, 512, 1024];

/** Times the settings above for a decodeStep at `context` tokens; Quest's per-layer buffers are overwritten. */
export async function sweepQuestKernels(
  engine: Engine,
  timer: GpuTimer,
  o: { readonly context: number; readonly budgets: readonly number[]; readonly denseLayers: number; readonly aggregation: Aggregation; readonly reps: number },
): Promise<QuestKernelTime[]> {
  const { forward, cache, state, kernels } = engine.internals();
  const { heads, kvHeads, headDim, layers } = engine.info.config;
  const { maxPages, pageSize, kvType } = cache.layout;
  const nScored = Math.floor(o.context / pageSize); // the first decodeStep after `context` tokens
  const sparse = Array.from({ length: layers - o.denseLayers }, (_, i) => o.denseLayers + i);
  const time = async (dispatches: readonly Dispatch[]) => {
    await timer.timeAll(dispatches, 1); // warm-up
    return median(await timer.timeAll(dispatches, o.reps)) / 1000 / sparse.length;
  };
  const uniforms: GPUBuffer[] = [];
  const uniform = (label: string, words: Uint32Array) => {
    const b = kernels.uniform(label, words.buffer as ArrayBuffer);
    uniforms.push(b);
    return b;
  };
  try {
    const out: QuestKernelTime[] = [];
    const shape = { heads, kvHeads, headDim, maxPages, kvType, aggregation: o.aggregation };
    const scoreParams = uniform('sweep.pageScore.params', pageScoreParams(shape, nScored));
    for (const total of pageScoreTotals) {
      const workgroups = total ? Math.ceil(total / kvHeads) : maxPages;
      const dispatches: Dispatch[] = [];
      for (const l of sparse) {
        const b = { q: state.q, pageMeta: cache.pageMeta[l], pageTable: cache.pageTable, pageScore: forward.pageScores[l], params: scoreParams };
        dispatches.push(await pageScore(kernels, b, { ...shape, workgroups }));
      }
      out.push({ kernel: 'pageScore', setting: total, engine: total === 1024, usPerLayer: await time(dispatches) });
    }
    for (const budget of o.budgets.filter((b) => b < o.context)) {
      const selShape = { kvHeads, maxPages, pageBudget: Math.floor(budget / pageSize) };
      const params = uniform('sweep.selectPages.params', selectPagesParams(selShape, nScored));
      for (const threads of selectThreads) {
        const dispatches: Dispatch[] = [];
        for (const l of sparse) {
          const b = { pageScore: forward.pageScores[l], pageIds: forward.pageIds[l], pageCount: forward.pageCount[l], params };
          dispatches.push(await selectPages(kernels, b, { ...selShape, workgroup: threads }));
        }
        out.push({ kernel: 'selectPages', setting: threads, budget, engine: threads === selectPagesThreads(nScored), usPerLayer: await time(dispatches) });
      }
    }
    return out;
  } finally {
    await engine.gpu.device.queue.onSubmittedWorkDone();
    for (const b of uniforms) b.destroy();
  }
}

/** µs per sparse layer by setting, per model and context (BENCHMARKS.md). */
export function renderQuestSweepTable(models: readonly ModelResult[]): string {
  const swept = models.filter((m) => m.questKernels?.length);
  if (!swept.length) return '';
  const cell = (m: ModelResult, kernel: string, setting: number, budget?: number) => {
    const t = m.questKernels!.find((q) => q.kernel === kernel && q.setting === setting && q.budget === budget);
    return t ? `${f1(t.usPerLayer)}${t.engine ? ' (engine)' : ''}` : '-';
  };
  const out = ['\n### Quest selection kernels at other settings\n',
    'GPU µs per sparse layer: a kernel\'s dispatches over every sparse layer in one timed pass, divided by the layers (questSweep.ts). ' +
    '`pageScore` by workgroups in all (all KV heads; "pages" = as many as the pages need), `selectPages` by threads per workgroup.\n',
    table(['model', 'type', 'context', 'pageScore: 256', '1024', '4096', 'pages']),
  ];
  for (const m of swept) {
    out.push(row([m.model, m.weightType, m.context, ...pageScoreTotals.map((s) => cell(m, 'pageScore', s))]));
  }
  out.push('', table(['model', 'type', 'context', 'budget', ...selectThreads.map((t, i) => (i === 0 ? `selectPages: ${t} threads` : `${t}`))]));
  for (const m of swept) {
    for (const budget of [...new Set(m.questKernels!.filter((q) => q.budget !== undefined).map((q) => q.budget!))]) {
      out.push(row([m.model, m.weightType, m.context, budget, ...selectThreads.map((s) => cell(m, 'selectPages', s, budget))]));
    }
  }
  return out.join('\n');
}
