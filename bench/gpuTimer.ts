// GPU time of recorded-ahead dispatches with timestamp queries. WebGPU timestamps only bracket passes, so a kernel's
// time is that of a pass holding only its dispatch; a whole decodeStep is also timed as one pass (what the engine
// encodes). The engine's encode path is untouched: recordDispatches() captures the very dispatches (pipeline, bind
// group, grid) that Forward.encodeDecode would encode, through a stand-in encoder.
import type { Gpu } from '../gpu/device';
import type { Dispatch } from '../gpu/kernels/registry';

/** The dispatches `encode` records into compute passes, in order. Anything but compute passes throws. */
export function recordDispatches(encode: (encoder: GPUCommandEncoder) => void): Dispatch[] {
  const out: Dispatch[] = [];
  let pipeline: GPUComputePipeline | undefined;
  let bindGroup: GPUBindGroup | undefined;
  const pass = {
    setPipeline: (p: GPUComputePipeline) => void (pipeline = p),
    setBindGroup: (index: number, g: GPUBindGroup) => {
      if (index !== 0) throw new Error(`recordDispatches: bind group ${index} set; the engine's kernels use group 0 only`);
      bindGroup = g;
    },
    dispatchWorkgroups: (x: number, y = 1, z = 1) => {
      if (!pipeline || !bindGroup) throw new Error('recordDispatches: a dispatch before setPipeline/setBindGroup');
      out.push({ label: pipeline.label, pipeline, bindGroup, workgroups: [x, y, z] });
    },
    end: () => undefined,
  };
  const encoder = { beginComputePass: () => pass };
  encode(encoder as unknown as GPUCommandEncoder);
  return out;
}

/** WebGPU's largest timestamp query set. */
const MAX_QUERIES = 4096;

/** Timestamp queries for up to MAX_QUERIES / 2 timed ranges per submit. */
export class GpuTimer {
  private readonly querySet: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly readback: GPUBuffer;

  constructor(private readonly gpu: Gpu) {
    if (!gpu.hasTimestamps) throw new Error(`GpuTimer: ${gpu.summary.description} has no timestamp-query feature`);
    const { GPUBufferUsage } = gpu.constants;
    this.querySet = gpu.device.createQuerySet({ label: 'bench.timestamps', type: 'timestamp', count: MAX_QUERIES });
    this.resolve = gpu.device.createBuffer({ label: 'bench.resolve', size: MAX_QUERIES * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.readback = gpu.device.createBuffer({ label: 'bench.readback', size: MAX_QUERIES * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  /** Per dispatch, `reps` GPU times in ns ([dispatch][rep]), each dispatch alone in a timed pass. */
  async timeEach(dispatches: readonly Dispatch[], reps: number): Promise<number[][]> {
    const out = dispatches.map(() => [] as number[]);
    const chunk = MAX_QUERIES / 2;
    for (let r = 0; r < reps; r++) {
      for (let at = 0; at < dispatches.length; at += chunk) {
        const part = dispatches.slice(at, at + chunk);
        const times = await this.run(part.length, (encoder, i) => encodeOne(encoder, [part[i]], this.querySet, 2 * i));
        times.forEach((t, i) => out[at + i].push(t));
      }
    }
    return out;
  }

  /** `reps` GPU times in ns of all `dispatches` in one pass, as the engine encodes them. */
  async timeAll(dispatches: readonly Dispatch[], reps: number): Promise<number[]> {
    const out: number[] = [];
    for (let r = 0; r < reps; r++) out.push((await this.run(1, (encoder) => encodeOne(encoder, dispatches, this.querySet, 0)))[0]);
    return out;
  }

  /** GPU time in ns of `reps` repetitions of `encode` bracketed by two empty timed passes (for copies). */
  async timeCommands(encode: (encoder: GPUCommandEncoder) => void): Promise<number> {
    const times = await this.run(1, (encoder) => {
      encoder.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0 } }).end();
      encode(encoder);
      encoder.beginComputePass({ timestampWrites: { querySet: this.querySet, endOfPassWriteIndex: 1 } }).end();
    });
    return times[0];
  }

  /** Encodes `ranges` timed ranges (range i writes queries 2i, 2i+1), submits, returns end − begin per range. */
  private async run(ranges: number, encodeRange: (encoder: GPUCommandEncoder, i: number) => void): Promise<number[]> {
    const device = this.gpu.device;
    const encoder = device.createCommandEncoder();
    for (let i = 0; i < ranges; i++) encodeRange(encoder, i);
    encoder.resolveQuerySet(this.querySet, 0, 2 * ranges, this.resolve, 0);
    encoder.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 16 * ranges);
    device.queue.submit([encoder.finish()]);
    await this.readback.mapAsync(this.gpu.constants.GPUMapMode.READ, 0, 16 * ranges);
    try {
      const t = new BigUint64Array(this.readback.getMappedRange(0, 16 * ranges));
      return Array.from({ length: ranges }, (_, i) => Number(t[2 * i + 1] - t[2 * i]));
    } finally {
      this.readback.unmap();
    }
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolve.destroy();
    this.readback.destroy();
  }
}

function encodeOne(encoder: GPUCommandEncoder, dispatches: readonly Dispatch[], querySet: GPUQuerySet, at: number): void {
  const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: at, endOfPassWriteIndex: at + 1 } });
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
  pass.end();
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
