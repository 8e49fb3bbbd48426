// Creating, filling and reading GPU buffers. Readback is for results and tests, never for the decode hot path.
import type { Gpu } from './device';

/** A storage buffer of `bytes` (rounded up to 16), readable and writable by kernels and copies. */
export function createStorage(gpu: Gpu, label: string, bytes: number): GPUBuffer {
  const { GPUBufferUsage } = gpu.constants;
  return gpu.device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(bytes / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

/** A storage buffer holding `data`, padded to a multiple of 16 bytes. */
export function createStorageWith(gpu: Gpu, label: string, data: ArrayBufferView): GPUBuffer {
  const buffer = createStorage(gpu, label, data.byteLength);
  writeBuffer(gpu, buffer, 0, data);
  return buffer;
}

/** Writes `data` at `offset`; pads the tail so that the write size is a multiple of 4 as WebGPU requires. */
export function writeBuffer(gpu: Gpu, buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) {
    gpu.device.queue.writeBuffer(buffer, offset, bytes);
  } else {
    const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
    padded.set(bytes);
    gpu.device.queue.writeBuffer(buffer, offset, padded);
  }
}

/** Copies `bytes` of `buffer` (from `offset`) back to the host. Awaits all previously submitted work. */
export async function readBuffer(gpu: Gpu, buffer: GPUBuffer, bytes = buffer.size, offset = 0): Promise<ArrayBuffer> {
  const { GPUBufferUsage, GPUMapMode } = gpu.constants;
  const size = Math.ceil(bytes / 4) * 4;
  const staging = gpu.device.createBuffer({ label: 'readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    const encoder = gpu.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, offset, staging, 0, size);
    gpu.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0, bytes);
  } finally {
    staging.destroy();
  }
}

/** `count` f32 values of `buffer` from element `start`. */
export async function readF32(gpu: Gpu, buffer: GPUBuffer, count: number, start = 0): Promise<Float32Array> {
  return new Float32Array(await readBuffer(gpu, buffer, count * 4, start * 4));
}
