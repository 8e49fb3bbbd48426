// BENCHMARKS.md's tables of the kernel sweeps, from hand-made results: decode matvec layouts (bench/matvecSweep.ts),
// the engine's layout beside the fastest per weight role; Quest's selection kernels by setting (bench/questSweep.ts);
// the engine's Q8_0 layout rule against the H100 sweep's picks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type MatvecLayoutTime, renderMatvecLayoutTable } from '../../bench/matvecSweep';
import { type QuestKernelTime, renderQuestSweepTable } from '../../bench/questSweep';
import type { ModelResult } from '../../bench/results';
import { gpuMatvecVariant, normPays } from '../../gpu/kernels/matmul';
import { GgmlType } from '../../gpu/model/ggmlTypes';

const time = (role: string, layout: [number, number, number], us: number, engine = false): MatvecLayoutTime => ({
  role,
  variant: { workgroup: layout[0], threadsPerRow: layout[1], rowsPerGroup: layout[2] },
  engine,
  count: 16,
  bytes: 100e6,
  us,
  bytesPerSecond: 100e6 / (us * 1e-6),
});

const model = (matvecLayouts?: MatvecLayoutTime[]) => ({ model: 'Llama', weightType: 'Q8_0', ...(matvecLayouts ? { matvecLayouts } : {}) }) as unknown as ModelResult;

test('matvec layout table: the engine layout and the fastest per role, against the copy bandwidth', () => {
  const md = renderMatvecLayoutTable([
    {
      model: model([
        time('attn_q+attn_k+attn_v', [256, 128, 4], 50, true),
        time('attn_q+attn_k+attn_v', [128, 32, 4], 40),
        time('attn_q+attn_k+attn_v', [64, 8, 2], 80),
        time('lm_head', [256, 128, 4], 100, true),
        time('lm_head', [64, 4, 1], 200),
      ]),
      copyBytesPerSecond: 2500e9,
    },
    { model: model(), copyBytesPerSecond: 2500e9 },
  ]);
  const rows = md.split('\n').filter((l) => l.startsWith('| Llama'));
  assert.deepEqual(rows, [
    '| Llama | Q8_0 | attn_q+attn_k+attn_v | 100.0 | 256/128/4 | 50.0 | 2000 | 128/32/4 | 40.0 | 2500 | 100 % |',
    '| Llama | Q8_0 | lm_head | 100.0 | 256/128/4 | 100.0 | 1000 | 256/128/4 | 100.0 | 1000 | 40 % |',
  ]);
  assert.equal(renderMatvecLayoutTable([{ model: model(), copyBytesPerSecond: 1 }]), '', 'no sweep, no table');
});

test('Quest sweep tables: pageScore by workgroups, selectPages by threads per budget, the engine setting marked', () => {
  const q = (kernel: QuestKernelTime['kernel'], setting: number, usPerLayer: number, budget?: number): QuestKernelTime => ({
    kernel,
    setting,
    ...(budget ? { budget } : {}),
    engine: kernel === 'pageScore' ? setting === 1024 : setting === 256,
    usPerLayer,
  });
  const questKernels = [
    q('pageScore', 256, 9), q('pageScore', 1024, 5), q('pageScore', 4096, 6), q('pageScore', 0, 7),
    ...[128, 256, 512, 1024].flatMap((t, i) => [q('selectPages', t, 10 - i, 512), q('selectPages', t, 20 - i, 2048)]),
  ];
  const md = renderQuestSweepTable([{ model: 'Llama', weightType: 'Q8_0', context: 32768, questKernels } as unknown as ModelResult, model()]);
  assert.deepEqual(md.split('\n').filter((l) => l.startsWith('| Llama')), [
    '| Llama | Q8_0 | 32768 | 9.0 | 5.0 (engine) | 6.0 | 7.0 |',
    '| Llama | Q8_0 | 32768 | 512 | 10.0 | 9.0 (engine) | 8.0 | 7.0 |',
    '| Llama | Q8_0 | 32768 | 2048 | 20.0 | 19.0 (engine) | 18.0 | 17.0 |',
  ]);
  assert.equal(renderQuestSweepTable([model()]), '', 'no sweep, no table');
});

test("the engine's Q8_0 decode layout on GPUs is the H100 sweep's pick for each weight shape it measured", () => {
  // [weight, rows, cols, layout] from bench/results/2026-11-22-17-39-21-… (Qwen2.5-Coder-1.5B) and 17-35-34 (Llama-3.2-1B):
  // the fastest layout of each, or one within 3.5 % of it (gpu/kernels/matmul.ts, q8Variant, says why).
  const measured: [string, number, number, string][] = [
    ['Qwen attn_q+attn_k+attn_v', 2048, 1536, '256/128/2'],
    ['Qwen attn_output', 1536, 1536, '256/128/2'],
    ['Qwen ffn_gate+ffn_up', 17920, 1536, '256/32/4'],
    ['Qwen ffn_down', 1536, 8960, '256/128/2'],
    ['Qwen lm_head', 151936, 1536, '256/32/4'],
    ['Llama ffn_down', 2048, 8192, '256/128/2'],
    ['Llama lm_head', 128256, 2048, '256/32/4'],
  ];
  for (const [weight, rows, cols, layout] of measured) {
    const v = gpuMatvecVariant(GgmlType.Q8_0, rows, cols);
    assert.equal(`${v.workgroup}/${v.threadsPerRow}/${v.rowsPerGroup}`, layout, weight);
  }
  // Rows shorter than the group: threads per group shrink to the row's 16-element units (stories260K: dim 64).
  assert.deepEqual(gpuMatvecVariant(GgmlType.Q8_0, 64, 64), { workgroup: 256, threadsPerRow: 4, rowsPerGroup: 2 });
});

test('decode fuses the RMSNorm only into matvecs whose workgroups stream enough weight bytes (H100 before/after runs)', () => {
  const pays = (type: GgmlType, rows: number, cols: number) => normPays({ type, cols }, gpuMatvecVariant(type, rows, cols));
  // Measured: Q8_0 q/k/v broke even, Q8_0 gate/up and the LM head gained, Q4_K gate/up lost 15 µs per layer.
  assert.equal(pays(GgmlType.Q8_0, 3072, 2048), true, 'Llama Q8_0 q/k/v');
  assert.equal(pays(GgmlType.Q8_0, 17920, 1536), true, 'Qwen Q8_0 gate/up');
  assert.equal(pays(GgmlType.Q8_0, 151936, 1536), true, 'Qwen Q8_0 lm_head');
  assert.equal(pays(GgmlType.Q4_K, 17920, 1536), false, 'Qwen Q4_K gate/up');
  // A software adapter's one-row-per-thread layout (64 rows per workgroup) always pays.
  assert.equal(normPays({ type: GgmlType.Q4_K, cols: 1536 }, { workgroup: 64, threadsPerRow: 1, rowsPerGroup: 1 }), true);
});
