// Matmul op: the only way to dispatch the matmulVec* (decode) and matmulTile* (prefill) kernels.
//   tokens = 1: y = W·x          x: (cols) f32, y: (rows) f32           one matvec per weight part
//   tokens > 1: Y = X·Wᵀ         X: (tokens, cols) f32, Y: (tokens, rows) f32, row-major; tiled 64 × 64
// W is a WeightTensor of any supported type, dequantized inside the kernels. With `accumulate`, the result is
// added to what y holds (y += W·x), which fuses the residual add after attn_output and ffn_down.
import { checkShape } from '../errors';
import { GgmlType } from '../model/ggmlTypes';
import { type WeightTensor, regionBindings } from '../quant/weight';
import tileF16 from './matmulTileF16.wgsl';
import tileF32 from './matmulTileF32.wgsl';
import tileQ4K from './matmulTileQ4K.wgsl';
import tileQ4_0 from './matmulTileQ4_0.wgsl';
import tileQ6K from './matmulTileQ6K.wgsl';
import tileQ8_0 from './matmulTileQ8_0.wgsl';
import vecF16 from './matmulVecF16.wgsl';
import vecF32 from './matmulVecF32.wgsl';
import vecQ4K from './matmulVecQ4K.wgsl';
import vecQ4_0 from './matmulVecQ4_0.wgsl';
import vecQ6K from './matmulVecQ6K.wgsl';
import vecQ8_0 from './matmulVecQ8_0.wgsl';
import { type Dispatch, type KernelDef, Kernels, grid2d } from './registry';

/** A kernel whose first `regions` bindings are a weight part's regions, then x (read), y (readWrite), params. */
function kernel(name: string, source: string, regions: number): KernelDef {
  return { name, source, bindings: [...Array<'read'>(regions).fill('read'), 'read', 'readWrite', 'uniform'] };
}

interface TypeKernels {
  readonly vec: KernelDef;
  readonly tile: KernelDef;
  /** Override constants that select the type within a kernel family (F16 vs BF16). */
  readonly constants: Readonly<Record<string, number>>;
  /** Units of work per row in the vec kernel (16-byte words of the main stream; 64 elements for Q6_K). */
  readonly units: (cols: number) => number;
}

const f16Vec = kernel('matmulVecF16', vecF16, 1);
const f16Tile = kernel('matmulTileF16', tileF16, 1);

/** Both kernels of a type whose layout has `regions` regions. */
function family(vecName: string, vec: string, tileName: string, tile: string, regions: number) {
  return { vec: kernel(vecName, vec, regions), tile: kernel(tileName, tile, regions) };
}

export const matmulKernels: Readonly<Record<GgmlType, TypeKernels>> = {
  [GgmlType.F32]: { ...family('matmulVecF32', vecF32, 'matmulTileF32', tileF32, 1), constants: {}, units: (c) => Math.ceil(c / 4) },
  [GgmlType.F16]: { vec: f16Vec, tile: f16Tile, constants: { BF16: 0 }, units: (c) => Math.ceil(c / 8) },
  [GgmlType.BF16]: { vec: f16Vec, tile: f16Tile, constants: { BF16: 1 }, units: (c) => Math.ceil(c / 8) },
  [GgmlType.Q8_0]: { ...family('matmulVecQ8_0', vecQ8_0, 'matmulTileQ8_0', tileQ8_0, 2), constants: {}, units: (c) => c / 16 },
  [GgmlType.Q4_0]: { ...family('matmulVecQ4_0', vecQ4_0, 'matmulTileQ4_0', tileQ4_0, 2), constants: {}, units: (c) => c / 32 },
  [GgmlType.Q4_K]: { ...family('matmulVecQ4K', vecQ4K, 'matmulTileQ4K', tileQ4K, 2), constants: {}, units: (c) => c / 32 },
  [GgmlType.Q6_K]: { ...family('matmulVecQ6K', vecQ6K, 'matmulTileQ6K', tileQ6K, 4), constants: {}, units: (c) => c / 64 },
};

/** The prefill kernels' tile: tokens × weight rows per workgroup. */
const TILE = 64;

export interface MatmulBuffers {
  readonly weight: WeightTensor; // (rows, cols) of its type
  readonly x: GPUBuffer; //         (tokens, cols) f32
  readonly y: GPUBuffer; //         (tokens, rows) f32
}

export interface MatmulShape {
  readonly tokens: number;
  /** y += W·x instead of y = W·x. */
  readonly accumulate?: boolean;
}

/** How the decode kernel spreads rows over threads; chosen per adapter unless given (benchmarks). */
export interface MatvecVariant {
  readonly workgroup: number;
  /** Threads per row group: a power of two dividing `workgroup`; 1 = one group per thread. */
  readonly threadsPerRow: number;
  /** Rows each group computes (1..4): every x load then serves that many rows. */
  readonly rowsPerGroup: number;
}

/** Bytes x is bound with: the decode kernel reads x as whole vec4s. */
function xBytes(cols: number, tokens: number): number {
  return tokens === 1 ? Math.ceil(cols / 4) * 16 : tokens * cols * 4;
}

export function checkMatmul(k: Kernels, b: MatmulBuffers, s: MatmulShape): void {
  const w = b.weight;
  const name = `matmul ${w.label}`;
  const { maxStorageBufferBindingSize: maxBinding, maxComputeWorkgroupsPerDimension: maxGrid } = k.gpu.summary.limits;
  checkShape(Number.isInteger(s.tokens) && s.tokens >= 1, `${name}: tokens (${s.tokens}) must be an integer >= 1`);
  const xb = xBytes(w.cols, s.tokens);
  const yb = s.tokens * w.rows * 4;
  if (s.tokens === 1) {
    checkShape(b.x.size >= xb, `${name}: x holds ${b.x.size} B, needs cols*4 rounded up to 16 = ${xb} (cols ${w.cols})`);
  } else {
    checkShape(b.x.size >= xb, `${name}: x holds ${b.x.size} B, needs tokens*cols*4 = ${s.tokens}*${w.cols}*4 = ${xb}`);
  }
  checkShape(b.y.size >= yb, `${name}: y holds ${b.y.size} B, needs tokens*rows*4 = ${s.tokens}*${w.rows}*4 = ${yb}`);
  checkShape(b.x !== b.y, `${name}: x and y must be different buffers`);
  checkShape(xb <= maxBinding, `${name}: x needs a binding of ${xb} B, over maxStorageBufferBindingSize ${maxBinding}: use fewer tokens`);
  checkShape(yb <= maxBinding, `${name}: y needs a binding of ${yb} B, over maxStorageBufferBindingSize ${maxBinding}: use fewer tokens`);
  checkShape(
    Math.ceil(s.tokens / TILE) <= maxGrid,
    `${name}: tokens/${TILE} = ${Math.ceil(s.tokens / TILE)} workgroups, over maxComputeWorkgroupsPerDimension ${maxGrid}`,
  );
}

/**
 * The decode layout per type on hardware GPUs: of 24 measured, the variant with the least total slowdown over
 * 4096×4096, 14336×4096, 4096×14336 and 1024×4096 on an H100. There (GB/s of weight read, 14336×4096; HBM peak
 * ≈ 3350): F32 2860, F16/BF16 2770, Q8_0 2290, Q6_K 1340, Q4_K 1190, Q4_0 1140. Quantized types are bound by
 * instructions per element, not by memory: x staged in workgroup memory and exponent-trick int→float
 * conversions measured no faster.
 */
const gpuVariants: Readonly<Record<GgmlType, MatvecVariant>> = {
  [GgmlType.F32]: { workgroup: 256, threadsPerRow: 128, rowsPerGroup: 1 },
  [GgmlType.F16]: { workgroup: 128, threadsPerRow: 128, rowsPerGroup: 1 },
  [GgmlType.BF16]: { workgroup: 128, threadsPerRow: 128, rowsPerGroup: 1 },
  [GgmlType.Q8_0]: { workgroup: 256, threadsPerRow: 128, rowsPerGroup: 4 },
  [GgmlType.Q4_0]: { workgroup: 128, threadsPerRow: 128, rowsPerGroup: 4 },
  [GgmlType.Q4_K]: { workgroup: 128, threadsPerRow: 64, rowsPerGroup: 2 },
  [GgmlType.Q6_K]: { workgroup: 128, threadsPerRow: 64, rowsPerGroup: 4 },
};

/** The decode kernel's layout on this adapter: one row per thread on software adapters, rows shared by threads on GPUs. */
export function matvecVariant(k: Kernels, w: WeightTensor): MatvecVariant {
  if (k.gpu.summary.isSoftware) return { workgroup: 64, threadsPerRow: 1, rowsPerGroup: 1 };
  const v = gpuVariants[w.type];
  // Short rows (small models) have fewer units than threads: give the spare threads other rows instead.
  let tpr = 4;
  while (tpr < v.threadsPerRow && tpr < matmulKernels[w.type].units(w.cols)) tpr *= 2;
  return { ...v, threadsPerRow: tpr };
}

/**
 * Dispatches of y (+)= W·x (tokens = 1) or Y (+)= X·Wᵀ (tokens > 1): one per weight part, to be encoded in order.
 * `variant` overrides the decode layout (benchmarks); ShapeError when a buffer is too small or a limit is passed.
 */
export async function matmul(k: Kernels, b: MatmulBuffers, s: MatmulShape, variant?: MatvecVariant): Promise<Dispatch[]> {
  checkMatmul(k, b, s);
  const w = b.weight;
  const tk = matmulKernels[w.type];
  const accumulate = s.accumulate ? 1 : 0;
  const x = { buffer: b.x, size: xBytes(w.cols, s.tokens) };
  const y = { buffer: b.y, size: s.tokens * w.rows * 4 };
  const dispatches: Dispatch[] = [];
  if (s.tokens === 1) {
    const v = variant ?? matvecVariant(k, w);
    checkShape(
      v.threadsPerRow >= 1 && v.workgroup % v.threadsPerRow === 0 && (v.threadsPerRow & (v.threadsPerRow - 1)) === 0,
      `matmul ${w.label}: threadsPerRow (${v.threadsPerRow}) must be a power of two dividing workgroup (${v.workgroup})`,
    );
    checkShape(v.rowsPerGroup >= 1 && v.rowsPerGroup <= 4, `matmul ${w.label}: rowsPerGroup (${v.rowsPerGroup}) must be 1..4`);
    const pipeline = await k.pipeline(tk.vec, { ...tk.constants, WG: v.workgroup, TPR: v.threadsPerRow, NR: v.rowsPerGroup });
    const rowsPerWorkgroup = (v.workgroup / v.threadsPerRow) * v.rowsPerGroup;
    w.parts.forEach((part, i) => {
      const grid = grid2d(Math.ceil(part.rows / rowsPerWorkgroup), k.gpu.summary.limits.maxComputeWorkgroupsPerDimension);
      const words = new Uint32Array([part.rows, w.cols, part.firstRow, grid[0], accumulate]);
      const params = k.uniform(`${w.label}.matvec.params`, words.buffer);
      dispatches.push(k.dispatch(tk.vec, pipeline, [...regionBindings(w, i), x, y, params], grid));
    });
  } else {
    const pipeline = await k.pipeline(tk.tile, tk.constants);
    w.parts.forEach((part, i) => {
      const words = new Uint32Array([part.rows, w.cols, part.firstRow, s.tokens, w.rows, accumulate]);
      const params = k.uniform(`${w.label}.matmul.params`, words.buffer);
      const grid: [number, number, number] = [Math.ceil(part.rows / TILE), Math.ceil(s.tokens / TILE), 1];
      dispatches.push(k.dispatch(tk.tile, pipeline, [...regionBindings(w, i), x, y, params], grid));
    });
  }
  return dispatches;
}
