// Pipelines, bind groups and dispatches for the engine's WGSL kernels. Every kernel is dispatched through an op
// file beside its .wgsl (see rmsnorm.ts); this file is the machinery they share.
import type { Gpu } from '../device';
import { ShaderCompileError } from '../errors';

/** How a kernel binds each buffer, in binding order (group 0). */
export type BindingKind = 'read' | 'readWrite' | 'uniform';

/** A WGSL kernel: one file, one `main` entry point, bindings in group 0. */
export interface KernelDef {
  readonly name: string;
  readonly source: string;
  readonly bindings: readonly BindingKind[];
}

/** One recorded-ahead dispatch: made at load time, encoded any number of times, never re-created. */
export interface Dispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
}

/** Pipeline cache keyed by kernel name and override constants; the key is also the pipeline's label. */
export class Kernels {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  private readonly standIns = new Map<string, GPUBuffer>();

  constructor(readonly gpu: Gpu) {}

  /**
   * The pipeline for `def` specialized by WGSL `override` constants, compiled once and cached. Throws
   * ShaderCompileError with Dawn's messages when the kernel does not validate.
   */
  async pipeline(def: KernelDef, constants: Record<string, number> = {}): Promise<GPUComputePipeline> {
    const device = this.gpu.device;
    const key = [def.name, ...Object.entries(constants).map(([k, v]) => `${k}${v}`)].join('_');
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: key, code: def.source });
    const info = await module.getCompilationInfo();
    const messages = info.messages.filter((m) => m.type === 'error');
    const pipeline = device.createComputePipeline({
      label: key,
      layout: device.createPipelineLayout({ bindGroupLayouts: [this.layout(def)] }),
      compute: { module, entryPoint: 'main', constants },
    });
    const error = await device.popErrorScope();
    if (messages.length || error) {
      const text = messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ') || error!.message;
      throw new ShaderCompileError(key, text);
    }
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /** A dispatch of `pipeline` over `buffers` (in `def.bindings` order). */
  dispatch(
    def: KernelDef,
    pipeline: GPUComputePipeline,
    buffers: readonly (GPUBuffer | GPUBufferBinding)[],
    workgroups: readonly [number, number, number],
  ): Dispatch {
    if (buffers.length !== def.bindings.length) {
      throw new Error(`${def.name}: ${buffers.length} buffers bound, the kernel declares ${def.bindings.length}`);
    }
    const bindGroup = this.gpu.device.createBindGroup({
      label: pipeline.label,
      layout: this.layout(def),
      entries: buffers.map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
    });
    return { label: pipeline.label, pipeline, bindGroup, workgroups };
  }

  /**
   * A storage buffer of `size` bytes bound where a kernel's layout has a binding that this use never reads or writes,
   * made once per label and kept as long as this Kernels (the bind groups holding it).
   */
  standIn(label: string, size = 16): GPUBuffer {
    let buffer = this.standIns.get(label);
    if (!buffer) {
      buffer = this.gpu.device.createBuffer({ label, size, usage: this.gpu.constants.GPUBufferUsage.STORAGE });
      this.standIns.set(label, buffer);
    }
    return buffer;
  }

  /** A small uniform buffer holding `words` (u32/f32 as given), made once at load time. */
  uniform(label: string, words: ArrayBuffer): GPUBuffer {
    const { GPUBufferUsage } = this.gpu.constants;
    const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
    const buffer = this.gpu.device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.gpu.device.queue.writeBuffer(buffer, 0, words);
    return buffer;
  }

  private layout(def: KernelDef): GPUBindGroupLayout {
    let layout = this.layouts.get(def.name);
    if (layout) return layout;
    const { GPUShaderStage } = this.gpu.constants;
    const type = { read: 'read-only-storage', readWrite: 'storage', uniform: 'uniform' } as const;
    layout = this.gpu.device.createBindGroupLayout({
      label: def.name,
      entries: def.bindings.map((kind, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: type[kind] },
      })),
    });
    this.layouts.set(def.name, layout);
    return layout;
  }
}

/** Records `dispatches` into one compute pass of `encoder`, in order. */
export function encodeDispatches(encoder: GPUCommandEncoder, dispatches: readonly Dispatch[]): void {
  const pass = encoder.beginComputePass();
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
  pass.end();
}

/** Splits `count` workgroups over x and y so that neither exceeds the per-dimension limit (LM heads need this). */
export function grid2d(count: number, maxPerDimension = 65535): [number, number, number] {
  if (count <= maxPerDimension) return [count, 1, 1];
  const y = Math.ceil(count / maxPerDimension);
  return [Math.ceil(count / y), y, 1];
}
