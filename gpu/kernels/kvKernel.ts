// What the KV-cache kernels (kvAppend, attentionPrefill, attentionDecode) share: specialization by the cache's
// element type, and run-sized dispatches.
//
// Element type: each such .wgsl file begins with an f32 header between `// kvType: begin` and `// kvType: end`
// (`alias KvType = f32;` and `const KV_MAX`), so the file compiles alone as the f32 variant. For an f16 cache
// the op swaps those lines for `enable f16; alias KvType = f16; const KV_MAX = 65504`: `enable` must precede every
// declaration, and the header is the first thing in the file. An alias keeps the kernel body identical for both types;
// `override` constants cannot change a type.
import type { KvType } from '../kv/layout';
import type { Dispatch, KernelDef } from './registry';

const headerPattern = /^((?:\s*\/\/.*\n|\s*\n)*)\/\/ kvType: begin\n[\s\S]*?\/\/ kvType: end\n/;

const f16Header = '// kvType: f16\nenable f16;\nalias KvType = f16;\nconst KV_MAX : f32 = 65504.0;   // largest finite f16\n';

const specialized = new Map<string, KernelDef>();

/** `def` for a cache of `kvType` elements: named `<name>_<kvType>`, so pipelines and layouts are cached per type. */
export function kvKernel(def: KernelDef, kvType: KvType): KernelDef {
  const name = `${def.name}_${kvType}`;
  let out = specialized.get(name);
  if (out) return out;
  const match = headerPattern.exec(def.source);
  if (!match) throw new Error(`${def.name}.wgsl: the kvType header must come first (only comments before it)`);
  const source = kvType === 'f32' ? def.source : match[1] + f16Header + def.source.slice(match[0].length);
  out = { name, source, bindings: def.bindings };
  specialized.set(name, out);
  return out;
}

/** An op over one run of the cache (kvAppend, attentionPrefill, attentionDecode) built at load time. */
export interface KvRunOp {
  readonly label: string;
  /** The largest run the op was built for. */
  readonly maxTokens: number;
  /**
   * The dispatches for a run of `tokens` new tokens (the cache's current run: KvCache.beginRun). Only the workgroup
   * counts depend on `tokens`: these are plain objects over the pipelines and bind groups made at load.
   */
  dispatches(tokens: number): Dispatch[];
}

/** `d` with other workgroup counts (same pipeline and bind group). */
export function resized(d: Dispatch, workgroups: readonly [number, number, number]): Dispatch {
  return { ...d, workgroups };
}
