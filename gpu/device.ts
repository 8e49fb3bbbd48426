// Opens the WebGPU adapter and device through Dawn (the `webgpu` package) and owns them for the engine's life.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceLostError, NoAdapterError } from './errors';

type Dawn = typeof import('webgpu');

/** The WebGPU flag constants, read from the package (`globals`) rather than assigned onto globalThis. */
export interface GpuConstants {
  readonly GPUBufferUsage: typeof GPUBufferUsage;
  readonly GPUMapMode: typeof GPUMapMode;
  readonly GPUShaderStage: typeof GPUShaderStage;
}

/** What the engine needs to know about the adapter to pick kernel variants and upload paths. */
export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  /** A software rasterizer (lavapipe): fine for correctness, useless for speed. */
  readonly isSoftware: boolean;
  readonly features: readonly string[];
  readonly limits: {
    readonly maxStorageBufferBindingSize: number;
    readonly maxBufferSize: number;
    readonly maxComputeWorkgroupStorageSize: number;
    readonly maxComputeInvocationsPerWorkgroup: number;
    readonly maxComputeWorkgroupsPerDimension: number;
    readonly maxStorageBuffersPerShaderStage: number;
    readonly minStorageBufferOffsetAlignment: number;
  };
}

/** An open WebGPU device and the Dawn instance that must outlive it. */
export class Gpu {
  /**
   * Rejects with DeviceLostError once the device is lost (a driver reset, a GPU that went away, device.destroy()
   * called by anyone but dispose()); never settles after dispose().
   */
  readonly lost: Promise<never>;
  readonly hasF16: boolean;
  readonly hasSubgroups: boolean;
  readonly hasTimestamps: boolean;
  private destroyed = false;

  constructor(
    // Strong reference to create()'s result: if V8 collects it while the device lives, Node dies in native code.
    private readonly instance: GPU,
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly summary: AdapterSummary,
    readonly constants: GpuConstants,
  ) {
    this.hasF16 = device.features.has('shader-f16');
    this.hasSubgroups = device.features.has('subgroups');
    this.hasTimestamps = device.features.has('timestamp-query');
    this.lost = device.lost.then((info) => {
      if (this.destroyed) return new Promise<never>(() => {}); // dispose(): on purpose, not a loss
      throw new DeviceLostError(info.reason, info.message || 'no message');
    });
    this.lost.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
  }

  /** Destroys the device, then lets the instance go. Idempotent. */
  dispose(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.destroy();
    void this.instance;
  }
}

export interface OpenGpuOptions {
  /** Called for every validation or out-of-memory error no error scope caught: these are engine bugs. */
  onUncapturedError?: (message: string) => void;
  /**
   * More Dawn instance flags, e.g. `disable-dawn-features=timestamp_quantization` for benchmarks: by default Dawn
   * rounds timestamps to 2^16 ns, which hides kernels of a few µs.
   */
  dawnFlags?: readonly string[];
}

/**
 * Opens the best adapter: a hardware GPU when one exists; otherwise, on Linux, the privately provisioned Mesa 25
 * lavapipe (scripts/provision-lavapipe.sh), which is offered to the Vulkan loader as an extra driver.
 */
export async function openGpu(options: OpenGpuOptions = {}): Promise<Gpu> {
  prepareEnvironment();
  const dawn: Dawn = await import('webgpu');
  // NVIDIA exposes shader-f16 through Vulkan only with this toggle (webgpu-node.md §3); harmless elsewhere.
  const instance = dawn.create(['enable-dawn-features=vulkan_enable_f16_on_nvidia', ...(options.dawnFlags ?? [])]);
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    throw new NoAdapterError(`WebGPU adapter request failed: ${(err as Error).message}. ${installHint()}`);
  }
  if (!adapter) throw new NoAdapterError(`No WebGPU adapter found. ${installHint()}`);

  const wanted: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  const report = options.onUncapturedError ?? ((m: string) => console.error(`[quest-lens] GPU error: ${m}`));
  device.addEventListener('uncapturederror', (e) => report((e as GPUUncapturedErrorEvent).error.message));
  return new Gpu(instance, adapter, device, summarize(adapter), dawn.globals as unknown as GpuConstants);
}

function summarize(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info;
  const l = adapter.limits;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isSoftware: info.architecture === 'software' || Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    features: [...adapter.features].map(String).sort(),
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    },
  };
}

/** Where scripts/provision-lavapipe.sh caches its files; the same rule as the script's. */
export function cacheDir(): string {
  return process.env.QUEST_LENS_CACHE || join(homedir(), '.cache', 'quest-lens');
}

/** The ICD json of a provisioned lavapipe, or undefined. */
export function findLavapipeIcd(): string | undefined {
  const root = cacheDir();
  if (!existsSync(root)) return undefined;
  const dirs = readdirSync(root).filter((d) => d.startsWith('lavapipe-')).sort().reverse();
  return dirs.map((d) => join(root, d, 'lvp.json')).find((f) => existsSync(f));
}

function prepareEnvironment(): void {
  if (process.platform !== 'linux') return;
  // Mesa's Vulkan drivers print `XDG_RUNTIME_DIR is invalid or not set` on stderr without it.
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `quest-lens-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  // Add lavapipe beside whatever drivers exist: hardware adapters still win the high-performance request.
  if (!process.env.VK_DRIVER_FILES && !process.env.VK_ICD_FILENAMES) {
    const icd = findLavapipeIcd();
    if (icd) {
      const extra = process.env.VK_ADD_DRIVER_FILES;
      process.env.VK_ADD_DRIVER_FILES = extra ? `${extra}:${icd}` : icd;
    }
  }
}

function installHint(): string {
  switch (process.platform) {
    case 'linux':
      return (
        'Install your GPU vendor\'s Vulkan driver (NVIDIA: the proprietary driver; AMD/Intel: mesa-vulkan-drivers) ' +
        'and the loader libvulkan1. On a machine without a GPU, run scripts/provision-lavapipe.sh once to provision ' +
        'Mesa 25 lavapipe (software Vulkan, slow).'
      );
    case 'darwin':
      return 'WebGPU runs on Metal: macOS 11 or newer on a Mac with a Metal-capable GPU is required.';
    case 'win32':
      return 'Install or update your GPU driver (D3D12 or Vulkan) from the vendor.';
    default:
      return `WebGPU through Dawn does not support the platform ${process.platform}.`;
  }
}
