// Matmul op: the only way to dispatch the matmulVec* (decode) and matmulTile* (prefill) kernels.
//   tokens = 1: y = W·x          x: (cols) f32, y: (rows) f32           one matvec per weight part
//   tokens > 1: Y = X·Wᵀ         X: (tokens, cols) f32, Y: (tokens, rows) f32, row-major; tiled 64 × 64
// W is a WeightTensor of any supported type, dequantized inside the kernels. With `accumulate`, the result is
// added to what y holds (y += W·x), which fuses the residual add after attn_output and ffn_down. A weight whose
// rows are several matrices' (q/k/v or gate/up, concatenated at load: model/weights.ts) writes each matrix's rows
// to its own buffer: in one matvec for decode (which can also add the fused bias, or apply SwiGLU to gate/up),
// one tile dispatch per matrix for prefill. A decode matvec can also apply the RMSNorm that feeds it to x first.
import { checkShape } from '../errors';
import { GgmlType, ggmlTensorBytes } from '../model/ggmlTypes';
import { type WeightTensor, regionBindings } from '../quant/weight';
import tileF16 from './matmulTileF16.wgsl';
import tileF32 from './matmulTileF32.wgsl';
import tileQ4K from './matmulTileQ4K.wgsl';
import tileQ4_0 from './matmulTileQ4_0.wgsl';
import tileQ6K from './matmulTileQ6K.wgsl';
import tileQ8_0 from './matmulTileQ8_0.wgsl';
import vecEpilogue from './matmulVecEpilogue.wgsl';
import vecF16 from './matmulVecF16.wgsl';
import vecF32 from './matmulVecF32.wgsl';
import vecNorm from './matmulVecNorm.wgsl';
import vecPrologue from './matmulVecPrologue.wgsl';
import vecQ4K from './matmulVecQ4K.wgsl';
import vecQ4_0 from './matmulVecQ4_0.wgsl';
import vecQ6K from './matmulVecQ6K.wgsl';
import vecQ8_0 from './matmulVecQ8_0.wgsl';
import { type Dispatch, type KernelDef, Kernels, grid2d } from './registry';

/** A kernel whose first `regions` bindings are a weight part's regions, then x (read), y (readWrite), params. */
function kernel(name: string, source: string, regions: number): KernelDef {
  return { name, source, bindings: [...Array<'read'>(regions).fill('read'), 'read', 'readWrite', 'uniform'] };
}

/**
 * A decode kernel: the part's regions, x, bias (read), then y, y1, y2 (readWrite, one per segment), params. Its
 * source is a prologue, the type's dot products, then the reduction and outputs every type shares.
 */
function vecKernel(name: string, source: string, regions: number): KernelDef {
  const read = Array<'read'>(regions + 2).fill('read');
  return { name, source: `${vecPrologue}\n${source}\n${vecEpilogue}`, bindings: [...read, 'readWrite', 'readWrite', 'readWrite', 'uniform'] };
}

/** The x binding every matmulVec*.wgsl declares; the norm variant renames it xIn (matmulVecNorm.wgsl reads it). */
const X_BINDING = 'var<storage, read> x : array<vec4<f32>>;';

/**
 * `plain`'s kernel with the RMSNorm prologue (matmulVecNorm.wgsl): the same bindings, then the norm weight (read).
 * Throws at load if the type's source no longer declares x as matmulVecNorm.wgsl expects.
 */
function vecNormKernel(plain: KernelDef, source: string): KernelDef {
  if (source.split(X_BINDING).length !== 2) throw new Error(`${plain.name}: the RMSNorm prologue needs exactly one '${X_BINDING}'`);
  const body = source.replace(X_BINDING, 'var<storage, read> xIn : array<vec4<f32>>;');
  const prologue = vecNorm.split('{{normBinding}}').join(String(plain.bindings.length));
  return {
    name: `${plain.name}Norm`,
    source: `${prologue}\n${body}\n${vecEpilogue}`,
    bindings: [...plain.bindings, 'read'],
  };
}

interface TypeKernels {
  readonly vec: KernelDef;
  /** vec with an RMSNorm of x first (decode's attn_norm, ffn_norm, output_norm). */
  readonly vecNorm: KernelDef;
  readonly tile: KernelDef;
  /** Override constants that select the type within a kernel family (F16 vs BF16). */
  readonly constants: Readonly<Record<string, number>>;
  /** Units of work per row in the vec kernel (16-byte words of the main stream; 64 elements for Q6_K). */
  readonly units: (cols: number) => number;
}

const f16Vec = vecKernel('matmulVecF16', vecF16, 1);
const f16VecNorm = vecNormKernel(f16Vec, vecF16);
const f16Tile = kernel('matmulTileF16', tileF16, 1);

/** The kernels of a type whose layout has `regions` regions. */
function family(vecName: string, vec: string, tileName: string, tile: string, regions: number) {
  const plain = vecKernel(vecName, vec, regions);
  return { vec: plain, vecNorm: vecNormKernel(plain, vec), tile: kernel(tileName, tile, regions) };
}

export const matmulKernels: Readonly<Record<GgmlType, TypeKernels>> = {
  [GgmlType.F32]: { ...family('matmulVecF32', vecF32, 'matmulTileF32', tileF32, 1), constants: {}, units: (c) => Math.ceil(c / 4) },
  [GgmlType.F16]: { vec: f16Vec, vecNorm: f16VecNorm, tile: f16Tile, constants: { BF16: 0 }, units: (c) => Math.ceil(c / 8) },
  [GgmlType.BF16]: { vec: f16Vec, vecNorm: f16VecNorm, tile: f16Tile, constants: { BF16: 1 }, units: (c) => Math.ceil(c / 8) },
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
  /**
   * (tokens, rows) f32; with `segments`, one (tokens, segment rows) buffer per segment; with `swiglu`, one
   * (1, rows/2) buffer.
   */
  readonly y: GPUBuffer | readonly GPUBuffer[];
  /** (rows) f32 added to W·x (decode only: prefill adds biases with biasAdd). */
  readonly bias?: GPUBuffer;
  /**
   * (cols) f32 RMSNorm weight (decode only): y = W·(x / sqrt(mean(x²) + normEps) * norm), the norm fused into the
   * matvec (see normFits).
   */
  readonly norm?: GPUBuffer;
}

export interface MatmulShape {
  readonly tokens: number;
  /** y += W·x instead of y = W·x. */
  readonly accumulate?: boolean;
  /** Rows of each matrix of a fused weight, in order, at most 3 (their sum is the weight's rows); default one. */
  readonly segments?: readonly number[];
  /** Decode of [ffn_gate; ffn_up] (segments [ffn, ffn], one part): y = silu(gate·x) * (up·x), SwiGLU fused. */
  readonly swiglu?: boolean;
  /** The epsilon of the fused RMSNorm (with buffers' `norm`). */
  readonly normEps?: number;
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

/** The output buffers, one per segment (one for swiglu). */
function outputs(b: MatmulBuffers): readonly GPUBuffer[] {
  return 'size' in b.y ? [b.y as GPUBuffer] : (b.y as readonly GPUBuffer[]);
}

export function checkMatmul(k: Kernels, b: MatmulBuffers, s: MatmulShape): void {
  const w = b.weight;
  const name = `matmul ${w.label}`;
  const { maxStorageBufferBindingSize: maxBinding, maxComputeWorkgroupsPerDimension: maxGrid } = k.gpu.summary.limits;
  checkShape(Number.isInteger(s.tokens) && s.tokens >= 1, `${name}: tokens (${s.tokens}) must be an integer >= 1`);
  const segments = s.segments ?? [w.rows];
  checkShape(
    segments.length >= 1 && segments.length <= 3 && segments.every((n) => Number.isInteger(n) && n >= 1) && segments.reduce((a, n) => a + n, 0) === w.rows,
    `${name}: segments (${segments.join(', ')}) must be 1 to 3 positive row counts summing to the weight's rows (${w.rows})`,
  );
  const ys = outputs(b);
  const widths = s.swiglu ? [w.rows / 2] : segments;
  checkShape(ys.length === widths.length, `${name}: ${ys.length} output buffers for ${widths.length} ${s.swiglu ? 'SwiGLU output' : 'segments'}`);
  if (s.swiglu) {
    checkShape(s.tokens === 1, `${name}: swiglu is fused only in decode (tokens 1, got ${s.tokens})`);
    checkShape(segments.length === 2 && segments[0] === segments[1], `${name}: swiglu needs segments [ffn, ffn], got [${segments.join(', ')}]`);
    checkShape(w.parts.length === 1, `${name}: swiglu needs the weight in one part, it has ${w.parts.length}`);
    checkShape(!s.accumulate && !b.bias, `${name}: swiglu takes no accumulate and no bias`);
  }
  if (b.bias) {
    checkShape(s.tokens === 1, `${name}: a bias is fused only in decode (tokens 1, got ${s.tokens}); add it with biasAdd`);
    checkShape(b.bias.size >= w.rows * 4, `${name}: bias holds ${b.bias.size} B, needs rows*4 = ${w.rows * 4}`);
  }
  if (b.norm) {
    checkShape(s.tokens === 1, `${name}: an RMSNorm is fused only in decode (tokens 1, got ${s.tokens}); run rmsNorm first`);
    checkShape(b.norm.size >= w.cols * 4, `${name}: norm holds ${b.norm.size} B, needs cols*4 = ${w.cols * 4}`);
    checkShape(s.normEps !== undefined && s.normEps >= 0 && Number.isFinite(s.normEps), `${name}: a fused RMSNorm needs a finite normEps >= 0, got ${s.normEps}`);
  }
  const xb = xBytes(w.cols, s.tokens);
  if (s.tokens === 1) {
    checkShape(b.x.size >= xb, `${name}: x holds ${b.x.size} B, needs cols*4 rounded up to 16 = ${xb} (cols ${w.cols})`);
  } else {
    checkShape(b.x.size >= xb, `${name}: x holds ${b.x.size} B, needs tokens*cols*4 = ${s.tokens}*${w.cols}*4 = ${xb}`);
  }
  checkShape(xb <= maxBinding, `${name}: x needs a binding of ${xb} B, over maxStorageBufferBindingSize ${maxBinding}: use fewer tokens`);
  ys.forEach((y, i) => {
    const which = ys.length === 1 ? 'y' : `y[${i}]`;
    const yb = s.tokens * widths[i] * 4;
    const rows = s.swiglu ? 'rows/2' : ys.length === 1 ? 'rows' : 'segment rows';
    checkShape(y.size >= yb, `${name}: ${which} holds ${y.size} B, needs tokens*${rows}*4 = ${s.tokens}*${widths[i]}*4 = ${yb}`);
    checkShape(yb <= maxBinding, `${name}: ${which} needs a binding of ${yb} B, over maxStorageBufferBindingSize ${maxBinding}: use fewer tokens`);
    checkShape(b.x !== y, `${name}: x and ${which} must be different buffers`);
    checkShape(ys.indexOf(y) === i && y !== b.bias, `${name}: ${which} must be a buffer of its own`);
  });
  checkShape(
    Math.ceil(s.tokens / TILE) <= maxGrid,
    `${name}: tokens/${TILE} = ${Math.ceil(s.tokens / TILE)} workgroups, over maxComputeWorkgroupsPerDimension ${maxGrid}`,
  );
}

/**
 * The decode layout per type on hardware GPUs, for types with no shape rule below: of 24 measured, the variant with
 * the least total slowdown over 4096×4096, 14336×4096, 4096×14336 and 1024×4096 on an H100. There (GB/s of weight
 * read, 14336×4096; HBM peak ≈ 3350): F32 2860, F16/BF16 2770, Q6_K 1340, Q4_K 1190, Q4_0 1140. Quantized types are
 * bound by instructions per element, not by memory: x staged in workgroup memory and exponent-trick int→float
 * conversions measured no faster.
 */
const gpuVariants: Readonly<Record<Exclude<GgmlType, typeof GgmlType.Q8_0>, MatvecVariant>> = {
  [GgmlType.F32]: { workgroup: 256, threadsPerRow: 128, rowsPerGroup: 1 },
  [GgmlType.F16]: { workgroup: 128, threadsPerRow: 128, rowsPerGroup: 1 },
  [GgmlType.BF16]: { workgroup: 128, threadsPerRow: 128, rowsPerGroup: 1 },
  [GgmlType.Q4_0]: { workgroup: 128, threadsPerRow: 128, rowsPerGroup: 4 },
  [GgmlType.Q4_K]: { workgroup: 128, threadsPerRow: 64, rowsPerGroup: 2 },
  [GgmlType.Q6_K]: { workgroup: 128, threadsPerRow: 64, rowsPerGroup: 4 },
};

/** Weights with at least this many rows (gate/up, the LM head) fill a GPU with short row groups. */
const MANY_ROWS = 8192;

/**
 * Q8_0's decode layout by shape, from the H100 layout sweep (bench/matvecSweep.ts) of
 * bench/results/2026-11-22-17-39-21-device-nvidia-580-159-04-580-159-4-0.json.gz (Qwen2.5-Coder-1.5B: each weight
 * within 3.5 % of its fastest layout; all five 1.10× faster than with the former 256/128/4) and the Llama-3.2-1B
 * ffn_down and LM head rows of 2026-11-22-17-35-34-device-….json.gz (within 0.6 %; that sweep's attn_output, gate/up
 * and 256-thread qkv rows are up to 2.3× slower than the same file's decode profile at the same layout, as if
 * something else ran on the GPU meanwhile, so they were left out).
 * - Many rows (gate/up 16384-17920, LM head 128256-151936): 32 threads per group, 4 rows each; 128-thread groups
 *   were 1.12-1.32× slower there (the rows alone fill the GPU; long groups only add reduction steps).
 * - Fewer rows (qkv, attn_output, ffn_down: 1536-3072): 128 threads per group, 2 rows, for enough threads in flight.
 * - Workgroups of 256 threads for both: 128 were up to 3.5 % faster on qkv and 1.2 % on gate/up but up to 12 %
 *   slower on ffn_down, and a matvec with the fused RMSNorm (matmulVecNorm.wgsl: q/k/v, gate/up, LM head), which
 *   the sweep does not time, runs its prologue once per workgroup: 256 threads halve that count.
 */
function q8Variant(rows: number): MatvecVariant {
  return rows >= MANY_ROWS ? { workgroup: 256, threadsPerRow: 32, rowsPerGroup: 4 } : { workgroup: 256, threadsPerRow: 128, rowsPerGroup: 2 };
}

/** The decode kernel's layout on a hardware GPU for a (rows, cols) weight of `type` (the rule matvecVariant applies). */
export function gpuMatvecVariant(type: GgmlType, rows: number, cols: number): MatvecVariant {
  const units = matmulKernels[type].units(cols);
  const v = type === GgmlType.Q8_0 ? q8Variant(rows) : gpuVariants[type];
  // Short rows (small models) have fewer units than threads: give the spare threads other rows instead.
  let tpr = 4;
  while (tpr < v.threadsPerRow && tpr < units) tpr *= 2;
  return { ...v, threadsPerRow: tpr };
}

/** The decode kernel's layout on this adapter: one row per thread on software adapters, rows shared by threads on GPUs. */
export function matvecVariant(k: Kernels, w: WeightTensor): MatvecVariant {
  if (k.gpu.summary.isSoftware) return { workgroup: 64, threadsPerRow: 1, rowsPerGroup: 1 };
  return gpuMatvecVariant(w.type, w.rows, w.cols);
}

/**
 * Words (vec4) of the RMSNorm variant's staged x: ceil(cols/4) rounded up to 256 (4 KiB), so that nearby dims share
 * a pipeline (the tests' awkward shapes would otherwise compile one per dim).
 */
function normWords(cols: number): number {
  return Math.ceil(cols / 1024) * 256;
}

/** Workgroup memory of the RMSNorm variant: the staged x and the reduction array, 16 B per thread. */
function normBytes(cols: number, workgroup: number): number {
  return normWords(cols) * 16 + workgroup * 16;
}

/**
 * Whether a decode matvec of `w` can fuse the RMSNorm of its x: every workgroup stages the normed x in workgroup
 * memory, which must hold it (dim 8192 with 256 threads: 36 KiB; lavapipe has 32 KiB, an H100 48 KiB).
 */
export function normFits(k: Kernels, w: WeightTensor, variant: MatvecVariant = matvecVariant(k, w)): boolean {
  return normBytes(w.cols, variant.workgroup) <= k.gpu.summary.limits.maxComputeWorkgroupStorageSize;
}

/**
 * Whether fusing the RMSNorm pays: every workgroup first reads x and the norm weight (8 B per column) and reduces
 * them, so a workgroup must stream enough weight bytes to hide that: at least half as many (rows per workgroup ×
 * bytes per row ≥ 4 × cols). H100, 2026-11-22 (bench/results/…17-39-21… against …18-28-05…): Q8_0 q/k/v with 4 rows
 * per workgroup (4.25 B per column) broke even against the 6 µs rmsnorm dispatch it replaced, Q8_0 gate/up with 32
 * rows gained, Q4_K gate/up with 4 rows (2.25 B per column) lost 15 µs per layer.
 */
export function normPays(w: Pick<WeightTensor, 'type' | 'cols'>, variant: MatvecVariant): boolean {
  const rowsPerWorkgroup = (variant.workgroup / variant.threadsPerRow) * variant.rowsPerGroup;
  return rowsPerWorkgroup * ggmlTensorBytes(w.type, w.cols) >= 4 * w.cols;
}

/** Whether a decode matvec of `w` takes its x's RMSNorm inside (normFits and normPays on this adapter's layout). */
export function fusesNorm(k: Kernels, w: WeightTensor): boolean {
  const variant = matvecVariant(k, w);
  return normFits(k, w, variant) && normPays(w, variant);
}

/**
 * Stand-ins for the decode kernel's unused bias (slot 0) and y1, y2 (slots 1, 2) bindings, 16 B each. Dawn checks
 * usage per buffer, so the read-only one has a buffer of its own; y1 and y2 share one, 256 B apart (no aliasing).
 */
function placeholder(k: Kernels, slot: 0 | 1 | 2): GPUBufferBinding {
  return slot === 0 ? { buffer: k.standIn('matmul.unusedBias', 16), offset: 0, size: 16 } : { buffer: k.standIn('matmul.unusedY', 512), offset: (slot - 1) * 256, size: 16 };
}

/**
 * Dispatches of y (+)= W·x (tokens = 1) or Y (+)= X·Wᵀ (tokens > 1), to be encoded in order: decode, one per weight
 * part; prefill, one per part and segment. `variant` overrides the decode layout (benchmarks); ShapeError when a
 * buffer is too small or a limit is passed.
 */
export async function matmul(k: Kernels, b: MatmulBuffers, s: MatmulShape, variant?: MatvecVariant): Promise<Dispatch[]> {
  checkMatmul(k, b, s);
  const w = b.weight;
  const tk = matmulKernels[w.type];
  const accumulate = s.accumulate ? 1 : 0;
  const segments = s.segments ?? [w.rows];
  const ys = outputs(b);
  const x = { buffer: b.x, size: xBytes(w.cols, s.tokens) };
  const dispatches: Dispatch[] = [];
  if (s.tokens === 1) {
    const v = variant ?? matvecVariant(k, w);
    checkShape(
      v.threadsPerRow >= 1 && v.workgroup % v.threadsPerRow === 0 && (v.threadsPerRow & (v.threadsPerRow - 1)) === 0,
      `matmul ${w.label}: threadsPerRow (${v.threadsPerRow}) must be a power of two dividing workgroup (${v.workgroup})`,
    );
    checkShape(v.rowsPerGroup >= 1 && v.rowsPerGroup <= 4, `matmul ${w.label}: rowsPerGroup (${v.rowsPerGroup}) must be 1..4`);
    const rowsPerGroup = s.swiglu ? Math.min(4, v.rowsPerGroup + (v.rowsPerGroup % 2)) : v.rowsPerGroup; // gate/up pairs
    const def = b.norm ? tk.vecNorm : tk.vec;
    let normConstants: Record<string, number> = {};
    if (b.norm) {
      const limit = k.gpu.summary.limits.maxComputeWorkgroupStorageSize;
      checkShape((v.workgroup & (v.workgroup - 1)) === 0, `matmul ${w.label}: a fused RMSNorm needs a power-of-two workgroup, got ${v.workgroup}`);
      checkShape(
        normFits(k, w, v),
        `matmul ${w.label}: a fused RMSNorm over cols ${w.cols} needs ${normBytes(w.cols, v.workgroup)} B of workgroup memory, over maxComputeWorkgroupStorageSize ${limit}: run rmsNorm first`,
      );
      normConstants = { XWORDS: normWords(w.cols), EPS: s.normEps! };
    }
    const pipeline = await k.pipeline(def, { ...tk.constants, WG: v.workgroup, TPR: v.threadsPerRow, NR: rowsPerGroup, SWIGLU: s.swiglu ? 1 : 0, ...normConstants });
    const rowsPerWorkgroup = (v.workgroup / v.threadsPerRow) * rowsPerGroup;
    const split1 = segments.length > 1 ? segments[0] : w.rows;
    const split2 = segments.length > 2 ? segments[0] + segments[1] : w.rows;
    const yBindings = ([0, 1, 2] as const).map((i) => (i < ys.length ? { buffer: ys[i], size: (s.swiglu ? w.rows / 2 : segments[i]) * 4 } : placeholder(k, i)));
    const bias = b.bias ? { buffer: b.bias, size: w.rows * 4 } : placeholder(k, 0);
    const norm = b.norm ? [{ buffer: b.norm, size: w.cols * 4 }] : [];
    w.parts.forEach((part, i) => {
      const grid = grid2d(Math.ceil(part.rows / rowsPerWorkgroup), k.gpu.summary.limits.maxComputeWorkgroupsPerDimension);
      const words = new Uint32Array([part.rows, w.cols, part.firstRow, grid[0], accumulate, split1, split2, b.bias ? 1 : 0]);
      const params = k.uniform(`${w.label}.matvec.params`, words.buffer);
      dispatches.push(k.dispatch(def, pipeline, [...regionBindings(w, i), x, bias, ...yBindings, params, ...norm], grid));
    });
  } else {
    const pipeline = await k.pipeline(tk.tile, tk.constants);
    let start = 0;
    segments.forEach((rows, j) => {
      const end = start + rows;
      const y = { buffer: ys[j], size: s.tokens * rows * 4 };
      w.parts.forEach((part, i) => {
        const from = Math.max(start, part.firstRow);
        const to = Math.min(end, part.firstRow + part.rows);
        if (from >= to) return;
        const words = new Uint32Array([to - from, w.cols, from - start, s.tokens, rows, accumulate, from - part.firstRow]);
        const params = k.uniform(`${w.label}.matmul.params`, words.buffer);
        const grid: [number, number, number] = [Math.ceil((to - from) / TILE), Math.ceil(s.tokens / TILE), 1];
        dispatches.push(k.dispatch(tk.tile, pipeline, [...regionBindings(w, i), x, y, params], grid));
      });
      start = end;
    });
  }
  return dispatches;
}
