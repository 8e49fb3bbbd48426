// Where a weight's bytes live on the GPU. A weight is split by rows into parts (one GPUBuffer each) so that no
// region a kernel binds exceeds maxStorageBufferBindingSize; each part holds the regions of its type's format,
// each region (rows of the part, rowBytes) starting 256-byte aligned so that it can be bound on its own.
import { ShapeError } from '../errors';
import { type GgmlType, ggmlTensorBytes, ggmlTypeInfo } from '../model/ggmlTypes';
import { checkRowShape, weightFormat } from './codec';
import { packRegion, roundUp } from './format';

/** A bindable offset alignment every adapter accepts (WebGPU caps minStorageBufferOffsetAlignment at 256). */
export const REGION_ALIGN = 256;

export interface RegionLayout {
  /** Byte offset of the region in its part's buffer (a multiple of REGION_ALIGN). */
  readonly offset: number;
  /** Bytes per row (a multiple of 4). */
  readonly rowBytes: number;
  /** rows of the part × rowBytes. */
  readonly bytes: number;
}

export interface PartLayout {
  /** The weight row this part starts at. */
  readonly firstRow: number;
  readonly rows: number;
  /** Size of the part's buffer. */
  readonly bytes: number;
  readonly regions: readonly RegionLayout[];
}

/** The GPU layout of a (rows, cols) weight of `type`: what uploadWeight allocates and packRows fills. */
export interface WeightLayout {
  readonly type: GgmlType;
  readonly rows: number;
  readonly cols: number;
  readonly parts: readonly PartLayout[];
  /** Sum of the parts' bytes. */
  readonly bytes: number;
}

export interface LayoutLimits {
  /** Largest region a kernel may bind: the device's maxStorageBufferBindingSize (or a smaller test limit). */
  readonly maxBindingBytes: number;
  /** Largest buffer: the device's maxBufferSize. */
  readonly maxBufferBytes?: number;
}

/** Splits a (rows, cols) weight of `type` into parts whose regions each fit `limits.maxBindingBytes`. */
export function gpuLayout(type: GgmlType, rows: number, cols: number, limits: LayoutLimits): WeightLayout {
  checkRowShape('gpuLayout', type, rows, cols);
  const rowBytes = regionRowBytes(type, cols);
  const perRow = rowBytes.reduce((a, b) => a + b, 0);
  const slack = rowBytes.length * REGION_ALIGN;
  const maxBuffer = limits.maxBufferBytes ?? Infinity;
  const maxRows = Math.min(...rowBytes.map((b) => Math.floor(limits.maxBindingBytes / b)), Math.floor((maxBuffer - slack) / perRow));
  if (maxRows < 1) {
    throw new ShapeError(
      `gpuLayout: one ${ggmlTypeInfo[type].name} row of ${cols} columns needs regions of ${rowBytes.join('+')} B, ` +
        `over the binding limit of ${limits.maxBindingBytes} B`,
    );
  }
  const count = Math.ceil(rows / maxRows);
  const partRows = Math.ceil(rows / count); // balanced parts: none much smaller than the others
  const parts: PartLayout[] = [];
  for (let firstRow = 0; firstRow < rows; firstRow += partRows) {
    const n = Math.min(partRows, rows - firstRow);
    let offset = 0;
    const regions = rowBytes.map((rb) => {
      const region = { offset, rowBytes: rb, bytes: n * rb };
      offset = roundUp(offset + region.bytes, REGION_ALIGN);
      return region;
    });
    const last = regions[regions.length - 1];
    parts.push({ firstRow, rows: n, bytes: last.offset + last.bytes, regions });
  }
  return { type, rows, cols, parts, bytes: parts.reduce((a, p) => a + p.bytes, 0) };
}

/** Bytes per row of each region of a (_, cols) weight of `type`, in binding order. */
export function regionRowBytes(type: GgmlType, cols: number): number[] {
  return weightFormat(type).regions(cols).map((r) => r.rowBytes);
}

/** Bytes of one ggml row of the layout's tensor. */
export function ggmlRowBytes(layout: WeightLayout): number {
  return ggmlTensorBytes(layout.type, layout.cols);
}

/** Packed bytes to write at `offset` into the buffer of part `part`. */
export interface PackedPiece {
  readonly part: number;
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * Packs rows [firstRow, firstRow + rows) of a weight, given as their ggml bytes, into the pieces of its GPU layout.
 * Each call is independent of every other: a streaming loader packs each piece of whole rows as it arrives. The
 * pieces may view `ggml` itself (float types whose rows need no padding), so write them before reusing it.
 */
export function packRows(layout: WeightLayout, ggml: Uint8Array, firstRow: number, rows: number): PackedPiece[] {
  const rowBytes = ggmlRowBytes(layout);
  if (!(firstRow >= 0 && rows >= 0 && firstRow + rows <= layout.rows)) {
    throw new ShapeError(`packRows: rows [${firstRow}, ${firstRow + rows}) must lie within the weight's ${layout.rows} rows`);
  }
  if (ggml.byteLength < rows * rowBytes) {
    throw new ShapeError(`packRows: ${ggml.byteLength} bytes given for ${rows} rows of ${rowBytes} B = ${rows * rowBytes}`);
  }
  const specs = weightFormat(layout.type).regions(layout.cols);
  const pieces: PackedPiece[] = [];
  layout.parts.forEach((part, index) => {
    const start = Math.max(firstRow, part.firstRow);
    const end = Math.min(firstRow + rows, part.firstRow + part.rows);
    if (start >= end) return;
    const src = ggml.subarray((start - firstRow) * rowBytes, (end - firstRow) * rowBytes);
    specs.forEach((spec, r) => {
      const region = part.regions[r];
      const offset = region.offset + (start - part.firstRow) * region.rowBytes;
      pieces.push({ part: index, offset, bytes: packRegion(spec, src, end - start) });
    });
  });
  return pieces;
}
