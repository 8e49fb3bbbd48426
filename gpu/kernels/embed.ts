// Embedding op: the only way to dispatch the embed* kernels. out[t, :] = table[ids[t], :] as f32 for a table of any
// supported type (token_embd), dequantized in the kernel. One dispatch per table part; ids past the table's end
// get rows of NaN, so that a tokenizer/model mismatch cannot pass silently.
import { checkShape } from '../errors';
import { GgmlType } from '../model/ggmlTypes';
import { type WeightTensor, regionBindings } from '../quant/weight';
import embedF16 from './embedF16.wgsl';
import embedF32 from './embedF32.wgsl';
import embedQ4K from './embedQ4K.wgsl';
import embedQ4_0 from './embedQ4_0.wgsl';
import embedQ6K from './embedQ6K.wgsl';
import embedQ8_0 from './embedQ8_0.wgsl';
import { type Dispatch, type KernelDef, Kernels, grid2d } from './registry';

function kernel(name: string, source: string, regions: number): KernelDef {
  return { name, source, bindings: [...Array<'read'>(regions).fill('read'), 'read', 'readWrite', 'uniform'] };
}

const f16 = kernel('embedF16', embedF16, 1);

const embedKernels: Readonly<Record<GgmlType, { def: KernelDef; constants: Readonly<Record<string, number>> }>> = {
  [GgmlType.F32]: { def: kernel('embedF32', embedF32, 1), constants: {} },
  [GgmlType.F16]: { def: f16, constants: { BF16: 0 } },
  [GgmlType.BF16]: { def: f16, constants: { BF16: 1 } },
  [GgmlType.Q8_0]: { def: kernel('embedQ8_0', embedQ8_0, 2), constants: {} },
  [GgmlType.Q4_0]: { def: kernel('embedQ4_0', embedQ4_0, 2), constants: {} },
  [GgmlType.Q4_K]: { def: kernel('embedQ4K', embedQ4K, 2), constants: {} },
  [GgmlType.Q6_K]: { def: kernel('embedQ6K', embedQ6K, 4), constants: {} },
};

export interface EmbedBuffers {
  readonly table: WeightTensor; // (vocab, dim) of its type
  readonly ids: GPUBuffer; //      (tokens) u32
  readonly out: GPUBuffer; //      (tokens, dim) f32
}

export interface EmbedShape {
  readonly tokens: number;
}

export function checkEmbed(k: Kernels, b: EmbedBuffers, s: EmbedShape): void {
  const name = `embed ${b.table.label}`;
  const maxBinding = k.gpu.summary.limits.maxStorageBufferBindingSize;
  checkShape(Number.isInteger(s.tokens) && s.tokens >= 1, `${name}: tokens (${s.tokens}) must be an integer >= 1`);
  checkShape(b.ids.size >= s.tokens * 4, `${name}: ids holds ${b.ids.size} B, needs tokens*4 = ${s.tokens}*4 = ${s.tokens * 4}`);
  const outBytes = s.tokens * b.table.cols * 4;
  checkShape(b.out.size >= outBytes, `${name}: out holds ${b.out.size} B, needs tokens*dim*4 = ${s.tokens}*${b.table.cols}*4 = ${outBytes}`);
  checkShape(outBytes <= maxBinding, `${name}: out needs a binding of ${outBytes} B, over maxStorageBufferBindingSize ${maxBinding}: use fewer tokens`);
}

/** Dispatches of the lookup, one per table part, to be encoded in order. */
export async function embed(k: Kernels, b: EmbedBuffers, s: EmbedShape): Promise<Dispatch[]> {
  checkEmbed(k, b, s);
  const t = b.table;
  const { def, constants } = embedKernels[t.type];
  const wg = k.gpu.summary.isSoftware ? 16 : 64;
  const pipeline = await k.pipeline(def, { ...constants, WG: wg });
  const grid = grid2d(s.tokens, k.gpu.summary.limits.maxComputeWorkgroupsPerDimension);
  const ids = { buffer: b.ids, size: s.tokens * 4 };
  const out = { buffer: b.out, size: s.tokens * t.cols * 4 };
  return t.parts.map((part, i) => {
    const isLast = i === t.parts.length - 1 ? 1 : 0;
    const params = k.uniform(
      `${t.label}.embed.params`,
      new Uint32Array([s.tokens, t.cols, part.firstRow, part.rows, t.rows, isLast, grid[0], 0x7fc00000]).buffer,
    );
    return k.dispatch(def, pipeline, [...regionBindings(t, i), ids, out, params], grid);
  });
}
