// `quest-lens doctor`: what WebGPU adapter this machine offers, and whether it is fit for the engine.
import { openGpu } from './device';
import { NoAdapterError } from './errors';

const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

export async function doctor(args: string[]): Promise<number> {
  const json = args.includes('--json');
  let gpu;
  try {
    gpu = await openGpu();
  } catch (err) {
    if (!(err instanceof NoAdapterError)) throw err;
    console.error(`quest-lens doctor: ${err.message}`);
    return 1;
  }
  try {
    const s = gpu.summary;
    if (json) {
      console.log(JSON.stringify(s, null, 2));
      return 0;
    }
    const l = s.limits;
    const has = (f: string) => (s.features.includes(f) ? 'yes' : 'no');
    console.log(
      [
        `adapter       ${s.vendor} / ${s.architecture} / ${s.description}`,
        `fallback      ${s.isSoftware ? 'yes (software: fine for correctness, too slow for inference)' : 'no'}`,
        `max binding   ${mib(l.maxStorageBufferBindingSize)} per storage buffer, ${mib(l.maxBufferSize)} per buffer`,
        `workgroups    ${l.maxComputeInvocationsPerWorkgroup} invocations, ${l.maxComputeWorkgroupStorageSize} B shared, ${l.maxComputeWorkgroupsPerDimension} per dimension`,
        `buffers       ${l.maxStorageBuffersPerShaderStage} storage buffers per stage, offset alignment ${l.minStorageBufferOffsetAlignment}`,
        `f16           ${has('shader-f16')}`,
        `subgroups     ${has('subgroups')}`,
        `timestamps    ${has('timestamp-query')}`,
      ].join('\n'),
    );
    return 0;
  } finally {
    gpu.dispose();
  }
}
