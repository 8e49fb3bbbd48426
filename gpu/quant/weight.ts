// A weight matrix on the GPU in its type's layout (see layout.ts): what matmul and embed read.
import type { GgmlType } from '../model/ggmlTypes';
import type { WeightLayout } from './layout';

/** One row range of a weight, in its own buffer. */
export interface WeightPart {
  /** The part's regions (see the type's format module), each at its layout offset. */
  readonly buffer: GPUBuffer;
  readonly firstRow: number;
  readonly rows: number;
}

/**
 * A (rows, cols) weight of ggml `type`: row n is the n-th output (GGUF ne1), cols the contiguous input dimension
 * (GGUF ne0). Almost every weight has one part; LM heads larger than a binding have several.
 */
export interface WeightTensor {
  readonly label: string;
  readonly type: GgmlType;
  readonly rows: number;
  readonly cols: number;
  readonly layout: WeightLayout;
  readonly parts: readonly WeightPart[];
}

/** Bindings of part `part`'s regions, in region order. */
export function regionBindings(w: WeightTensor, part: number): GPUBufferBinding[] {
  return w.layout.parts[part].regions.map((r) => ({ buffer: w.parts[part].buffer, offset: r.offset, size: r.bytes }));
}

/** Frees the weight's buffers. */
export function destroyWeight(w: WeightTensor): void {
  for (const p of w.parts) p.buffer.destroy();
}
