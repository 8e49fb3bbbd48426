// Kernels that read the KV cache or pageMeta are written once with `{{kvType}}` / `{{enableF16}}` and specialized
// here: f16 by default when the device has shader-f16 (half the bytes read per decoded token), f32 in tests and on
// devices without it. WGSL cannot pick a storage element type with an `override`, hence the substitution.
import type { KernelDef } from './registry';

export type KvType = 'f16' | 'f32';

/** The variant of `def` that reads KV elements of `kvType`; named `<name>_<kvType>` so pipelines cache apart. */
export function withKvType(def: KernelDef, kvType: KvType): KernelDef {
  const source = def.source
    .replaceAll('{{enableF16}}', kvType === 'f16' ? 'enable f16;' : '')
    .replaceAll('{{kvType}}', kvType);
  return { ...def, name: `${def.name}_${kvType}`, source };
}

/** Bytes of one KV element. */
export function kvBytes(kvType: KvType): number {
  return kvType === 'f16' ? 2 : 4;
}
