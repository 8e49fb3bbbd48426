// Fills the engine's KV cache with `tokens` random keys and values through the engine's own kvAppend kernels
// (pages, page table and pageMeta exactly as prefill leaves them), skipping the matmuls and attention of prefill.
// Long-context decode benchmarks use it: prefill attention at 128K takes minutes per model on the H100, and decode
// speed does not depend on what the cached values are. Keys and values are uniform in [-1, 1).
import type { Engine } from '../gpu/engine';
import { kvAppend } from '../gpu/kernels/kvAppend';
import { encodeDispatches } from '../gpu/kernels/registry';


/** Appends `tokens` random tokens' K and V to every layer; returns the wall time in ms. */
export async function fillKvCache(engine: Engine, tokens: number, seed: number): Promise<number> {
  const { cache, state, kernels } = engine.internals();
  const { layers, kvHeads, headDim } = cache.layout;
  const t0 = performance.now();
  const run = state.maxTokens;
  const ops = [];
  for (let l = 0; l < layers; l++) ops.push(await kvAppend(kernels, cache, l, { k: state.k, v: state.v }, run));
  const values = new Float32Array(run * kvHeads * headDim);
  let x = seed >>> 0 || 1;
  const device = engine.gpu.device;
  for (let done = 0, n = 0; done < tokens; done += run, n++) {
    const m = Math.min(run, tokens - done);
    const used = values.subarray(0, m * kvHeads * headDim);
    for (const target of [state.k, state.v]) {
      for (let i = 0; i < used.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        used[i] = (x >>> 0) / 2 ** 31 - 1;
      }
      device.queue.writeBuffer(target, 0, used);
    }
    cache.beginRun(m);
    const encoder = device.createCommandEncoder();
    encodeDispatches(encoder, ops.flatMap((op) => op.dispatches(m)));
    device.queue.submit([encoder.finish()]);
    // Bound the queue's staged uploads.
    if (n % 32 === 31) await device.queue.onSubmittedWorkDone();
  }
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}
