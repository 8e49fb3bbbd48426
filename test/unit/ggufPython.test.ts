// model/train/gguf.py (the GGUF reader the PyTorch parity check loads the exported model with) decodes every type
// the default model uses exactly as the engine's decoders (gpu/quant/*) do: the same float64 values, on a file of
// random tensors (F32, F16, Q8_0, Q4_0, Q6_K, odd row counts, outliers) and on one tensor of each type of the
// committed model/default.gguf. Both of its paths: the standard-library one (what CI's python3 runs) always, and
// numpy's where python3 has numpy (the GPU machine's path); the metadata it reads is the engine's model config.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readGguf, readTensorData } from '../../gpu/gguf/reader';
import { kv, writeGguf } from '../../gpu/gguf/writer';
import { readModelConfig } from '../../gpu/model/config';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import { dequantizeRows, quantizeRows } from '../../gpu/quant/codec';
import { repoRoot } from '../util/paths';
import { randomF32 } from '../util/random';

const tmp = mkdtempSync(join(tmpdir(), 'quest-lens-ggufpy-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const script = join(repoRoot, 'model/train/gguf.py');
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

function gguf(args: string[]): string {
  const r = spawnSync('python3', [script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `gguf.py ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** gguf.py's values of `names`, float64, by path ('pure' or numpy's). */
function pythonValues(file: string, names: readonly string[], pure: boolean): Map<string, Float64Array> {
  const out = join(tmp, `out-${pure ? 'pure' : 'numpy'}`);
  const said = JSON.parse(gguf(['dequant', file, ...names, '--out', out, ...(pure ? ['--pure'] : [])])) as { path: string };
  assert.equal(said.path, pure ? 'pure' : 'numpy');
  return new Map(names.map((n) => [n, new Float64Array(new Uint8Array(readFileSync(join(out, `${n}.f64`))).buffer)]));
}

/** gguf.py equals dequantizeRows, value for value, on `names` of `file` (first mismatches printed). */
async function expectSameValues(file: string, names: readonly string[]): Promise<void> {
  const g = await readGguf(file);
  const paths = hasNumpy ? [true, false] : [true];
  for (const pure of paths) {
    const got = pythonValues(file, names, pure);
    for (const name of names) {
      const t = g.tensor(name)!;
      const want = dequantizeRows(t.type, await readTensorData(g, t), t.elements / t.dims[0], t.dims[0]);
      const mine = got.get(name)!;
      assert.equal(mine.length, want.length, `${name} (${pure ? 'pure' : 'numpy'}): element count`);
      const bad: string[] = [];
      for (let i = 0; i < want.length && bad.length < 5; i++) if (mine[i] !== want[i]) bad.push(`[${i}] ${mine[i]} vs ${want[i]}`);
      assert.deepEqual(bad, [], `${name} (${pure ? 'pure' : 'numpy'}): gguf.py vs gpu/quant`);
    }
  }
}

test('gguf.py decodes F32, F16, Q8_0, Q4_0 and Q6_K as the engine does', async () => {
  const file = join(tmp, 'types.gguf');
  const cases = [
    ['f32', GgmlType.F32, 27, 3],
    ['f16', GgmlType.F16, 61, 2],
    ['q8_0', GgmlType.Q8_0, 64, 5],
    ['q4_0', GgmlType.Q4_0, 96, 3],
    ['q6_k', GgmlType.Q6_K, 512, 3],
  ] as const;
  const tensors = cases.map(([name, type, cols, rows], i) => {
    const values = randomF32(rows * cols, 100 + i, 2);
    values[7] = 40; // an outlier: a block whose scale it sets
    return { name, type, dims: [cols, rows], data: quantizeRows(type, values, rows, cols) };
  });
  // Metadata of every value kind gguf.py must step over (arrays of strings and numbers included).
  await writeGguf(file, {
    metadata: [
      ['general.architecture', kv.string('test')],
      ['test.strings', kv.array('string', ['a', 'é', ''])],
      ['test.u64', kv.u64(7)],
      ['test.floats', kv.array('f32', new Float32Array([1.5, -2]))],
      ['general.alignment', kv.u32(64)],
    ],
    tensors,
  });
  const info = JSON.parse(gguf(['info', file])) as { metadata: Record<string, unknown>; tensors: { name: string; type: string; dims: number[] }[] };
  assert.deepEqual(
    info.tensors,
    cases.map(([name, , cols, rows]) => ({ name, type: name.toUpperCase(), dims: [cols, rows] })),
  );
  assert.equal(info.metadata['test.u64'], 7);
  await expectSameValues(file, cases.map(([name]) => name));
});

test('gguf.py reads the committed default model: its config and one tensor of each type', async () => {
  const file = join(repoRoot, 'model/default.gguf');
  const g = await readGguf(file);
  const cfg = readModelConfig(g);
  const info = JSON.parse(gguf(['info', file])) as { tensors: { name: string; type: string }[] };
  const byType = new Map<string, string>();
  for (const t of info.tensors) if (!byType.has(t.type) && t.name !== 'token_embd.weight') byType.set(t.type, t.name);
  assert.deepEqual([...byType.keys()].sort(), ['F32', 'Q4_0', 'Q6_K', 'Q8_0'], 'the mixed plan: F32 norms, Q8_0, Q4_0, Q6_K');
  await expectSameValues(file, [...byType.values()]);
  const r = spawnSync('python3', ['-c', `import sys, json; sys.path.insert(0, ${JSON.stringify(join(repoRoot, 'model/train'))}); import gguf; print(json.dumps(gguf.GgufFile(${JSON.stringify(file)}).llama_config()))`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const py = JSON.parse(r.stdout) as Record<string, number>;
  assert.deepEqual(
    { layers: py.layers, dim: py.dim, ffn: py.ffn, heads: py.heads, kvHeads: py.kvHeads, headDim: py.headDim, vocab: py.vocab, contextLength: py.contextLength },
    { layers: cfg.layers, dim: cfg.dim, ffn: cfg.ffn, heads: cfg.heads, kvHeads: cfg.kvHeads, headDim: cfg.headDim, vocab: cfg.vocab, contextLength: cfg.contextLength },
  );
  assert.equal(Math.fround(py.normEps), Math.fround(cfg.normEps));
  assert.equal(py.ropeTheta, cfg.rope.theta);
});
