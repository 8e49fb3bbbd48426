// traceSelection op: the only way to dispatch traceSelection.wgsl. Built once per layer at load; a request writes
// its pageBudget into each layer's params (traceSelectionParams) before its first decodeStep.
import { checkShape } from '../errors';
import { type Dispatch, type KernelDef, Kernels } from './registry';
import source from './traceSelection.wgsl';

export const traceSelectionKernel: KernelDef = { name: 'traceSelection', source, bindings: ['read', 'read', 'readWrite', 'uniform'] };

export interface TraceSelectionShape {
  readonly layers: number;
  readonly kvHeads: number;
  readonly maxPages: number;
}

export interface TraceSelectionBuffers {
  readonly pageIds: GPUBuffer; //   (kvHeads, maxPages) u32 one layer's selection
  readonly pageCount: GPUBuffer; // (kvHeads) u32
  readonly trace: GPUBuffer; //     (layers, kvHeads, 1 + pageBudget) u32: traceSelectionBytes(shape) for the largest budget
  /** Params {layer, pageBudget} u32 of this layer's dispatch: traceSelectionParams. */
  readonly params: GPUBuffer;
}

/** Bytes of the trace buffer for the largest budget (every page). */
export function traceSelectionBytes(s: TraceSelectionShape): number {
  return s.layers * s.kvHeads * (1 + s.maxPages) * 4;
}

export function traceSelectionParams(layer: number, pageBudget: number): Uint32Array<ArrayBuffer> {
  return new Uint32Array([layer, pageBudget]);
}

export async function traceSelection(k: Kernels, b: TraceSelectionBuffers, s: TraceSelectionShape): Promise<Dispatch> {
  checkShape(b.pageIds.size >= s.kvHeads * s.maxPages * 4, `traceSelection: pageIds holds ${b.pageIds.size} B, needs kvHeads*maxPages*4 = ${s.kvHeads * s.maxPages * 4}`);
  checkShape(b.pageCount.size >= s.kvHeads * 4, `traceSelection: pageCount holds ${b.pageCount.size} B, needs kvHeads*4 = ${s.kvHeads * 4}`);
  const bytes = traceSelectionBytes(s);
  checkShape(b.trace.size >= bytes, `traceSelection: trace holds ${b.trace.size} B, needs layers*kvHeads*(1+maxPages)*4 = ${bytes}`);
  const pipeline = await k.pipeline(traceSelectionKernel, { KV_HEADS: s.kvHeads, MAX_PAGES: s.maxPages, WG: 64 });
  return k.dispatch(traceSelectionKernel, pipeline, [b.pageIds, b.pageCount, b.trace, b.params], [s.kvHeads, 1, 1]);
}
