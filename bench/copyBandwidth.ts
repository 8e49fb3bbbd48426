// The device-to-device copy bandwidth: the yardstick every decode figure is compared with (issue 9's limit). Two
// copies are measured, each moving `bytes` from one buffer to another: copyBufferToBuffer (the driver's copy), and
// a compute kernel that reads and writes 16-byte words, coalesced (how every engine kernel touches memory). On the
// H100 through Dawn/Vulkan copyBufferToBuffer reaches only ~850 GB/s while kernels read at over 2 TB/s, so the
// kernel copy is the limit used. Bandwidth counts bytes read + bytes written.
import type { Gpu } from '../gpu/device';
import { type Dispatch, type KernelDef, Kernels } from '../gpu/kernels/registry';
import { GpuTimer, median } from './gpuTimer';

export interface CopyBandwidth {
  /** Bytes one copy moves from source to destination. */
  readonly bytes: number;
  readonly reps: number;
  /** copyBufferToBuffer: (read + written) bytes per second, median of GPU-timed reps (timestamps around copies). */
  readonly gpuBytesPerSecond?: number;
  /** copyBufferToBuffer from wall-clock time of `reps` copies in one submit (includes submit and completion latency). */
  readonly wallBytesPerSecond: number;
  /** The copy kernel: (read + written) bytes per second, median of GPU-timed reps. */
  readonly kernelBytesPerSecond?: number;
}

const copyKernel: KernelDef = {
  name: 'benchCopy',
  bindings: ['read', 'readWrite'],
  source: /* wgsl */ `
@group(0) @binding(0) var<storage, read> src : array<vec4<u32>>;        // (words)
@group(0) @binding(1) var<storage, read_write> dst : array<vec4<u32>>;  // (words)
override WG : u32 = 256u;
// Grid-stride: thread i copies words i, i + threads, ...; neighbouring threads touch neighbouring 16 bytes.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) g : vec3<u32>, @builtin(num_workgroups) n : vec3<u32>) {
  let threads = n.x * WG;
  for (var i = g.x; i < arrayLength(&src); i += threads) { dst[i] = src[i]; }
}`,
};

/**
 * Copies `bytes` back and forth: first for `warmMs` of wall time (an idle GPU starts at low clocks), then `reps` timed
 * copies of each kind. The kernel copy is checked (a sample of words read back) so a broken copy cannot look fast.
 */
export async function measureCopyBandwidth(gpu: Gpu, bytes: number, reps: number, timer?: GpuTimer, warmMs = 1500): Promise<CopyBandwidth> {
  const { GPUBufferUsage } = gpu.constants;
  const usage = GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | GPUBufferUsage.STORAGE;
  const a = gpu.device.createBuffer({ label: 'bench.copy.a', size: bytes, usage });
  const b = gpu.device.createBuffer({ label: 'bench.copy.b', size: bytes, usage });
  try {
    const copies = (encoder: GPUCommandEncoder, n: number) => {
      for (let i = 0; i < n; i++) encoder.copyBufferToBuffer(i % 2 ? b : a, 0, i % 2 ? a : b, 0, bytes);
    };
    for (const t0 = performance.now(); performance.now() - t0 < warmMs; ) {
      const warm = gpu.device.createCommandEncoder();
      copies(warm, 8);
      gpu.device.queue.submit([warm.finish()]);
      await gpu.device.queue.onSubmittedWorkDone();
    }
    let gpuBytesPerSecond: number | undefined;
    let kernelBytesPerSecond: number | undefined;
    if (timer) {
      const per: number[] = [];
      for (let r = 0; r < reps; r++) per.push((await timer.timeCommands((e) => copies(e, 4))) / 4);
      gpuBytesPerSecond = (2 * bytes) / (median(per) * 1e-9);
      const kernels = new Kernels(gpu);
      const pipeline = await kernels.pipeline(copyKernel, { WG: 256 });
      const workgroups = Math.min(gpu.summary.limits.maxComputeWorkgroupsPerDimension, Math.ceil(bytes / 16 / 256 / 8));
      const ab: Dispatch = kernels.dispatch(copyKernel, pipeline, [a, b], [workgroups, 1, 1]);
      const ba: Dispatch = kernels.dispatch(copyKernel, pipeline, [b, a], [workgroups, 1, 1]);
      await checkKernelCopy(gpu, timer, ab, a, b, bytes);
      const times = await timer.timeEach([ab, ba], reps);
      kernelBytesPerSecond = (2 * bytes) / (median([...times[0], ...times[1]]) * 1e-9);
    }
    const encoder = gpu.device.createCommandEncoder();
    copies(encoder, reps);
    const t0 = performance.now();
    gpu.device.queue.submit([encoder.finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    const wallMs = performance.now() - t0;
    return {
      bytes,
      reps,
      ...(gpuBytesPerSecond ? { gpuBytesPerSecond } : {}),
      wallBytesPerSecond: (2 * bytes * reps) / (wallMs / 1000),
      ...(kernelBytesPerSecond ? { kernelBytesPerSecond } : {}),
    };
  } finally {
    a.destroy();
    b.destroy();
  }
}

/** Writes a pattern into a, runs the a → b kernel, and compares 4 KiB at the start, middle and end of b. */
async function checkKernelCopy(gpu: Gpu, timer: GpuTimer, ab: Dispatch, a: GPUBuffer, b: GPUBuffer, bytes: number): Promise<void> {
  const probe = 4096;
  const offsets = [0, Math.floor(bytes / 2 / probe) * probe, bytes - probe];
  for (const at of offsets) gpu.device.queue.writeBuffer(a, at, Uint32Array.from({ length: probe / 4 }, (_, i) => pattern(at / 4 + i)));
  await timer.timeEach([ab], 1);
  const { GPUBufferUsage, GPUMapMode } = gpu.constants;
  for (const at of offsets) {
    const staging = gpu.device.createBuffer({ size: probe, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const e = gpu.device.createCommandEncoder();
    e.copyBufferToBuffer(b, at, staging, 0, probe);
    gpu.device.queue.submit([e.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const got = new Uint32Array(staging.getMappedRange());
    for (let i = 0; i < got.length; i++) {
      if (got[i] !== pattern(at / 4 + i)) throw new Error(`bench copy kernel: word ${at / 4 + i} is ${got[i]}, expected ${pattern(at / 4 + i)}`);
    }
    staging.destroy();
  }
}

const pattern = (word: number) => Math.imul(word, 0x9e3779b1) >>> 0;
