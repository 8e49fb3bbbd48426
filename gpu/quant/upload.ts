// Streams a weight's ggml bytes into its GPU layout without holding the whole tensor in JS memory: pieces of any
// size arrive, whole rows are taken as soon as they are complete and sent to the GPU through one reused path (a
// MAP_WRITE staging buffer on hardware GPUs, 6× faster than writeBuffer on NVIDIA; writeBuffer on software
// adapters, fastest on lavapipe: webgpu-node.md §4). Types whose layout differs from ggml's bytes go to a raw
// scratch buffer and are rearranged by repack.wgsl on the GPU (JS packing managed only 0.3-1.2 GB/s); packing
// on the CPU (packRows) remains as an option and as the tests' reference.
import type { Gpu } from '../device';
import { EngineError } from '../errors';
import { type Dispatch, type KernelDef, Kernels, encodeDispatches, grid2d } from '../kernels/registry';
import { type GgmlType, ggmlTypeInfo } from '../model/ggmlTypes';
import { checkRowShape, weightFormat } from './codec';
import { type RegionSpec, roundUp } from './format';
import { type WeightLayout, ggmlRowBytes, gpuLayout, packRows } from './layout';
import source from './repack.wgsl';
import type { WeightTensor } from './weight';

/** The bytes given for a weight do not match its shape, or its buffers could not be allocated. */
export class WeightUploadError extends EngineError {
  constructor(message: string) {
    super('weight-upload', message);
  }
}

export interface UploadOptions {
  /** Largest region to bind; defaults to the device's maxStorageBufferBindingSize (tests force a small one). */
  readonly maxBindingBytes?: number;
  /** Staging (and raw scratch) buffer size; default 16 MiB. */
  readonly stagingBytes?: number;
  /** Force the transfer path (default: staging on hardware, writeBuffer on software adapters and small weights). */
  readonly path?: 'staging' | 'writeBuffer';
  /** Where types that need rearranging are packed (default 'gpu'). */
  readonly pack?: 'gpu' | 'cpu';
}

const repackKernel: KernelDef = { name: 'repack', source, bindings: ['read', 'readWrite', 'uniform'] };

/** Weights under this size go through writeBuffer even on hardware: not worth a staging round trip. */
const SMALL_WEIGHT_BYTES = 1 << 20;

/** A region whose bytes are ggml's own (float rows needing no padding): nothing to rearrange. */
function isVerbatim(s: RegionSpec): boolean {
  return !s.convert && s.fieldBytes === s.blockBytes && s.blocksPerRow * s.blockBytes === s.rowBytes;
}

/**
 * Uploads weights one after another through one staging buffer and one raw scratch buffer (made on first use,
 * reused for every weight). Each upload's copies and repacks are submitted before it resolves, so any work
 * submitted later sees the weight. Call dispose() when done.
 */
export class WeightUploader {
  private readonly kernels: Kernels;
  private readonly queue: QueueWriter;
  private staging: StagingWriter | undefined;
  private raw: GPUBuffer | undefined;
  private readonly chunkBytes: number;

  constructor(
    private readonly gpu: Gpu,
    private readonly options: UploadOptions = {},
  ) {
    this.kernels = new Kernels(gpu);
    this.queue = new QueueWriter(gpu);
    this.chunkBytes = roundUp(options.stagingBytes ?? 16 << 20, 4);
  }

  /**
   * Allocates a (rows, cols) weight of `type` and fills it from `pieces`: its ggml bytes in order, split anywhere.
   * Rejects with WeightUploadError when the bytes are fewer or more than rows × ggml row bytes.
   */
  async upload(
    label: string,
    type: GgmlType,
    rows: number,
    cols: number,
    pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ): Promise<WeightTensor> {
    checkRowShape(`uploadWeight ${label}`, type, rows, cols);
    const limits = this.gpu.summary.limits;
    const layout = gpuLayout(type, rows, cols, {
      maxBindingBytes: this.options.maxBindingBytes ?? limits.maxStorageBufferBindingSize,
      maxBufferBytes: limits.maxBufferSize,
    });
    const weight = await allocate(this.gpu, label, layout);
    const path = this.options.path ?? (this.gpu.summary.isSoftware || layout.bytes < SMALL_WEIGHT_BYTES ? 'writeBuffer' : 'staging');
    const writer = path === 'staging' ? (this.staging ??= new StagingWriter(this.gpu, this.chunkBytes)) : this.queue;
    const specs = weightFormat(type).regions(cols);
    const onGpu = (this.options.pack ?? 'gpu') === 'gpu' && !specs.every(isVerbatim);
    const rowBytes = ggmlRowBytes(layout);
    // Rows per batch: what the raw scratch buffer holds (at least one row).
    const batchRows = Math.max(1, Math.floor(this.chunkBytes / rowBytes));
    let row = 0;
    let carry = new Uint8Array(0); // the start of a row split between two pieces: under one row of bytes
    const take = async (bytes: Uint8Array) => {
      const n = bytes.byteLength / rowBytes;
      if (row + n > rows) {
        const what = `${ggmlTypeInfo[type].name}, ${cols} cols`;
        throw new WeightUploadError(`${label}: more bytes than its ${rows} rows of ${rowBytes} B (${what})`);
      }
      if (onGpu) {
        for (let r = 0; r < n; r += batchRows) {
          const m = Math.min(batchRows, n - r);
          await this.repack(writer, weight, specs, bytes.subarray(r * rowBytes, (r + m) * rowBytes), row + r, m);
        }
      } else {
        for (const p of packRows(layout, bytes, row, n)) await writer.write(weight.parts[p.part].buffer, p.offset, p.bytes);
      }
      row += n;
    };
    try {
      for await (const piece of pieces) {
        let at = 0;
        if (carry.byteLength) {
          at = Math.min(rowBytes - carry.byteLength, piece.byteLength);
          const joined = new Uint8Array(carry.byteLength + at);
          joined.set(carry);
          joined.set(piece.subarray(0, at), carry.byteLength);
          carry = joined;
          if (carry.byteLength < rowBytes) continue;
          await take(carry);
          carry = new Uint8Array(0);
        }
        const whole = Math.floor((piece.byteLength - at) / rowBytes) * rowBytes;
        if (whole) await take(piece.subarray(at, at + whole));
        carry = piece.slice(at + whole);
      }
      if (row !== rows || carry.byteLength) {
        throw new WeightUploadError(
          `${label}: got ${row * rowBytes + carry.byteLength} bytes, ` +
            `a (${rows}, ${cols}) ${ggmlTypeInfo[type].name} weight has ${rows * rowBytes}`,
        );
      }
    } catch (err) {
      await writer.submit(); // copies already staged must not run against destroyed buffers
      for (const p of weight.parts) p.buffer.destroy();
      throw err;
    }
    await writer.submit();
    return weight;
  }

  /** Waits for every upload's copies and repacks to finish, then frees the staging and scratch buffers. */
  async dispose(): Promise<void> {
    await this.gpu.device.queue.onSubmittedWorkDone();
    this.staging?.destroy();
    this.raw?.destroy();
    this.staging = undefined;
    this.raw = undefined;
  }

  /** Sends `rows` ggml rows (weight rows firstRow..) to the raw buffer, then rearranges them into every region. */
  private async repack(
    writer: Writer,
    w: WeightTensor,
    specs: readonly RegionSpec[],
    ggml: Uint8Array,
    firstRow: number,
    rows: number,
  ): Promise<void> {
    const { GPUBufferUsage } = this.gpu.constants;
    this.raw ??= this.gpu.device.createBuffer({
      label: 'weight raw rows',
      size: Math.max(this.chunkBytes, roundUp(ggml.byteLength, 4)),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    if (this.raw.size < ggml.byteLength) {
      // One row larger than the staging size: grow the scratch buffer (queue order keeps earlier repacks safe).
      const old = this.raw;
      this.raw = this.gpu.device.createBuffer({ label: 'weight raw rows', size: roundUp(ggml.byteLength, 4), usage: old.usage });
      old.destroy();
    }
    const whole = ggml.byteLength - (ggml.byteLength % 4);
    await writer.write(this.raw, 0, ggml.subarray(0, whole));
    if (whole < ggml.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(ggml.subarray(whole));
      await writer.write(this.raw, whole, tail);
    }
    await writer.submit(); // the raw bytes land before the repack below reads them
    const pipeline = await this.kernels.pipeline(repackKernel);
    const src = { buffer: this.raw, offset: 0, size: roundUp(ggml.byteLength, 4) };
    const dispatches: Dispatch[] = [];
    const uniforms: GPUBuffer[] = [];
    w.layout.parts.forEach((part, i) => {
      const start = Math.max(firstRow, part.firstRow);
      const end = Math.min(firstRow + rows, part.firstRow + part.rows);
      if (start >= end) return;
      specs.forEach((spec, r) => {
        const region = part.regions[r];
        const words = (end - start) * (region.rowBytes / 4);
        const grid = grid2d(Math.ceil(words / 256), this.gpu.summary.limits.maxComputeWorkgroupsPerDimension);
        const params = new Uint32Array([
          end - start, (start - firstRow) * ggmlRowBytes(w.layout), spec.blocksPerRow, spec.blockBytes, spec.fieldOffset,
          spec.fieldBytes, region.rowBytes / 4, start - part.firstRow, spec.convert === 'f16-f32' ? 1 : 0, grid[0],
        ]);
        const uniform = this.kernels.uniform('repack.params', params.buffer);
        uniforms.push(uniform);
        const dst = { buffer: w.parts[i].buffer, offset: region.offset, size: region.bytes };
        dispatches.push(this.kernels.dispatch(repackKernel, pipeline, [src, dst, uniform], grid));
      });
    });
    const encoder = this.gpu.device.createCommandEncoder({ label: 'weight repack' });
    encodeDispatches(encoder, dispatches);
    this.gpu.device.queue.submit([encoder.finish()]);
    for (const u of uniforms) u.destroy(); // freed once the submitted repack is done with them
  }
}

/** Uploads one weight through a one-off WeightUploader (see there); a loader uploading many should share one. */
export async function uploadWeight(
  gpu: Gpu,
  label: string,
  type: GgmlType,
  rows: number,
  cols: number,
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: UploadOptions = {},
): Promise<WeightTensor> {
  const uploader = new WeightUploader(gpu, options);
  try {
    return await uploader.upload(label, type, rows, cols, pieces);
  } finally {
    await uploader.dispose();
  }
}

async function allocate(gpu: Gpu, label: string, layout: WeightLayout): Promise<WeightTensor> {
  const { GPUBufferUsage } = gpu.constants;
  gpu.device.pushErrorScope('out-of-memory');
  const buffers = layout.parts.map((p, i) =>
    gpu.device.createBuffer({
      label: layout.parts.length > 1 ? `${label}[${i}]` : label,
      size: p.bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    }),
  );
  const oom = await gpu.device.popErrorScope();
  if (oom) {
    for (const b of buffers) b.destroy();
    throw new WeightUploadError(`${label}: out of GPU memory allocating ${layout.bytes} B: ${oom.message}`);
  }
  const parts = layout.parts.map((p, i) => ({ buffer: buffers[i], firstRow: p.firstRow, rows: p.rows }));
  return { label, type: layout.type, rows: layout.rows, cols: layout.cols, layout, parts };
}

interface Writer {
  /** Queues `bytes` (a multiple of 4) for `buffer` at `offset`; `bytes` may be reused once this resolves. */
  write(buffer: GPUBuffer, offset: number, bytes: Uint8Array): Promise<void>;
  /** Submits everything written so far: work submitted afterwards sees it. */
  submit(): Promise<void>;
}

class QueueWriter implements Writer {
  constructor(private readonly gpu: Gpu) {}
  async write(buffer: GPUBuffer, offset: number, bytes: Uint8Array): Promise<void> {
    this.gpu.device.queue.writeBuffer(buffer, offset, bytes); // copies `bytes` before returning
  }
  async submit(): Promise<void> {}
}

/** One MAP_WRITE buffer, filled while mapped, copied to its destinations, mapped again once those copies ran. */
class StagingWriter implements Writer {
  private readonly staging: GPUBuffer;
  private mapped: Uint8Array | undefined;
  private used = 0;
  private copies: { buffer: GPUBuffer; offset: number; from: number; size: number }[] = [];

  constructor(
    private readonly gpu: Gpu,
    private readonly size: number,
  ) {
    const { GPUBufferUsage } = gpu.constants;
    const usage = GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC;
    this.staging = gpu.device.createBuffer({ label: 'weight staging', size, usage, mappedAtCreation: true });
    this.mapped = new Uint8Array(this.staging.getMappedRange());
  }

  async write(buffer: GPUBuffer, offset: number, bytes: Uint8Array): Promise<void> {
    for (let at = 0; at < bytes.byteLength; ) {
      if (this.used === this.size) await this.submit();
      if (!this.mapped) {
        await this.staging.mapAsync(this.gpu.constants.GPUMapMode.WRITE); // resolves once the last copies read it
        this.mapped = new Uint8Array(this.staging.getMappedRange());
      }
      const n = Math.min(bytes.byteLength - at, this.size - this.used);
      this.mapped.set(bytes.subarray(at, at + n), this.used);
      this.copies.push({ buffer, offset: offset + at, from: this.used, size: n });
      this.used += n;
      at += n;
    }
  }

  async submit(): Promise<void> {
    if (!this.copies.length) return;
    this.staging.unmap();
    this.mapped = undefined;
    const encoder = this.gpu.device.createCommandEncoder({ label: 'weight upload' });
    for (const c of this.copies) encoder.copyBufferToBuffer(this.staging, c.from, c.buffer, c.offset, c.size);
    this.gpu.device.queue.submit([encoder.finish()]);
    this.copies = [];
    this.used = 0;
  }

  destroy(): void {
    this.staging.destroy();
  }
}
