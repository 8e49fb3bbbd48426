// Decode matvec layouts (workgroup size, threads per row group, rows per group) timed on a loaded model's own
// weights: for each weight role, every layer's matvec in one timed pass, as a decodeStep reads them (16-28 layers
// of distinct weights, so nothing is served from L2 that a real step would not). The engine's layout per type
// (gpu/kernels/matmul.ts) was picked on 4096-wide matrices; this shows which layout wins at the shapes measured.
import type { Engine } from '../gpu/engine';
import { type MatvecVariant, matmul, matvecVariant } from '../gpu/kernels/matmul';
import type { Dispatch } from '../gpu/kernels/registry';
import { createStorage } from '../gpu/buffers';
import { type GgmlType, ggmlTypeInfo } from '../gpu/model/ggmlTypes';
import type { FusedWeight } from '../gpu/model/weights';
import type { WeightTensor } from '../gpu/quant/weight';
import { type GpuTimer, median } from './gpuTimer';
import { f1, gbs, pct, row, table } from './reportFormat';
import type { ModelResult } from './results';
import { weightBytes } from './traffic';

export interface MatvecLayoutTime {
  readonly role: string;
  readonly variant: MatvecVariant;
  /** The layout the engine picks for this role's weights. */
  readonly engine: boolean;
  /** Dispatches timed together (one per layer and weight part). */
  readonly count: number;
  /** Weight bytes they read. */
  readonly bytes: number;
  /** Median GPU µs of the role's dispatches in one pass. */
  readonly us: number;
  readonly bytesPerSecond: number;
}

/**
 * Layouts tried: workgroups of 64-256 threads, 4-256 threads per row group, 1, 2 or 4 rows per group; on a software
 * adapter three of them (the smoke suite checks the harness; all 54 on its model took lavapipe over 13 minutes).
 */
function layouts(software: boolean): MatvecVariant[] {
  if (software) {
    return [{ workgroup: 64, threadsPerRow: 4, rowsPerGroup: 1 }, { workgroup: 128, threadsPerRow: 32, rowsPerGroup: 4 }, { workgroup: 256, threadsPerRow: 256, rowsPerGroup: 2 }];
  }
  const out: MatvecVariant[] = [];
  for (const workgroup of [64, 128, 256]) {
    for (let threadsPerRow = 4; threadsPerRow <= workgroup; threadsPerRow *= 2) {
      for (const rowsPerGroup of [1, 2, 4]) out.push({ workgroup, threadsPerRow, rowsPerGroup });
    }
  }
  return out;
}

/** One matvec of a decodeStep. */
interface Part {
  /** The matrix's name; a fused weight's names joined (attn_q+attn_k+attn_v). */
  readonly name: string;
  readonly x: GPUBuffer;
  readonly weight: WeightTensor;
  readonly segments?: readonly number[];
  /** Gate and up in one weight, SwiGLU fused. */
  readonly swiglu?: boolean;
}

/** A weight role: one name and type, per layer that has it (or once). */
interface Role {
  readonly name: string;
  readonly parts: readonly Part[];
}

/**
 * The roles of a decodeStep's matvecs. Layers can differ (Q4_K_M: attn_v and ffn_down are Q6_K in some layers, where
 * q/k/v fuse into attn_q+attn_k and attn_v instead): a role gathers the layers that have its name, and the type joins
 * the name where one name comes in several types.
 */
function decodeRoles(engine: Engine): Role[] {
  const { weights: w, state } = engine.internals();
  const parts: Part[] = [];
  const fused = (group: readonly FusedWeight[], names: readonly string[], x: GPUBuffer, swiglu: boolean) => {
    let at = 0;
    for (const f of group) {
      const both = swiglu && f.segments.length === 2;
      parts.push({ name: names.slice(at, at + f.segments.length).join('+') + (both ? ' (SwiGLU)' : ''), x, weight: f.weight, segments: f.segments, swiglu: both });
      at += f.segments.length;
    }
  };
  for (const l of w.layers) {
    fused(l.qkv, ['attn_q', 'attn_k', 'attn_v'], state.h, false);
    parts.push({ name: 'attn_output', x: state.att, weight: l.wo });
    fused(l.gateUp, ['ffn_gate', 'ffn_up'], state.h, true);
    parts.push({ name: 'ffn_down', x: state.act, weight: l.wDown });
  }
  parts.push({ name: 'lm_head', x: state.h, weight: w.output });
  const types = new Map<string, Set<GgmlType>>();
  for (const p of parts) types.set(p.name, (types.get(p.name) ?? new Set<GgmlType>()).add(p.weight.type));
  const roles = new Map<string, Part[]>();
  for (const p of parts) {
    const name = types.get(p.name)!.size > 1 ? `${p.name} ${ggmlTypeInfo[p.weight.type].name}` : p.name;
    roles.set(name, [...(roles.get(name) ?? []), p]);
  }
  return [...roles].map(([name, of]) => ({ name, parts: of }));
}

/** Times every layout on each weight role of `engine`'s decodeStep; outputs go to scratch buffers (state untouched). */
export async function sweepMatvecLayouts(engine: Engine, timer: GpuTimer, reps: number): Promise<MatvecLayoutTime[]> {
  const { kernels } = engine.internals();
  const cfg = engine.info.config;
  const largest = Math.max(cfg.vocab, 2 * cfg.ffn, (cfg.heads + 2 * cfg.kvHeads) * cfg.headDim, cfg.dim);
  const scratch = [0, 1, 2].map((i) => createStorage(engine.gpu, `matvecSweep.y${i}`, largest * 4));
  try {
    const roles = decodeRoles(engine);
    const out: MatvecLayoutTime[] = [];
    for (const role of roles) {
      const bytes = role.parts.reduce((s, r) => s + weightBytes(r.weight), 0);
      const seen = new Set<string>();
      const swiglu = role.parts[0].swiglu ?? false;
      // What matmul() runs: SwiGLU rounds rows per group up to even (gate/up pairs).
      const effective = (v: MatvecVariant): MatvecVariant => (swiglu ? { ...v, rowsPerGroup: Math.min(4, v.rowsPerGroup + (v.rowsPerGroup % 2)) } : v);
      const engineLayout = effective(matvecVariant(kernels, role.parts[0].weight));
      for (const variant of layouts(engine.gpu.summary.isSoftware).map(effective)) {
        const key = `${variant.workgroup}/${variant.threadsPerRow}/${variant.rowsPerGroup}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const dispatches: Dispatch[] = [];
        for (const r of role.parts) {
          const segments = r.segments ?? [r.weight.rows];
          const y = swiglu ? [scratch[0]] : scratch.slice(0, segments.length);
          dispatches.push(...(await matmul(kernels, { weight: r.weight, x: r.x, y }, { tokens: 1, segments, swiglu }, variant)));
        }
        await timer.timeAll(dispatches, 1); // warm-up
        const us = median(await timer.timeAll(dispatches, reps)) / 1000;
        const same = (a: MatvecVariant) => a.workgroup === variant.workgroup && a.threadsPerRow === variant.threadsPerRow && a.rowsPerGroup === variant.rowsPerGroup;
        out.push({ role: role.name, variant, engine: same(engineLayout), count: dispatches.length, bytes, us, bytesPerSecond: bytes / (us * 1e-6) });
      }
    }
    return out;
  } finally {
    for (const b of scratch) b.destroy();
  }
}

/** Per model and weight role: the engine's layout against the fastest one measured (BENCHMARKS.md). */
export function renderMatvecLayoutTable(measured: readonly { readonly model: ModelResult; readonly copyBytesPerSecond: number }[]): string {
  const swept = measured.filter((m) => m.model.matvecLayouts?.length);
  if (!swept.length) return '';
  const out = ['\n### Decode matvec layouts\n',
    'Every layout (workgroup / threads per row group / rows per group) timed on the model\'s own weights: a role\'s dispatches of all layers in one timed pass (matvecSweep.ts). ' +
    'The engine\'s layout per type comes from `gpu/kernels/matmul.ts`.\n',
    table(['model', 'type', 'weight', 'MB', 'engine layout', 'µs', 'GB/s', 'fastest layout', 'µs', 'GB/s', '/ copy bandwidth'])];
  for (const { model: m, copyBytesPerSecond } of swept) {
    for (const role of new Set(m.matvecLayouts!.map((t) => t.role))) {
      const of = m.matvecLayouts!.filter((t) => t.role === role);
      const best = of.reduce((a, b) => (b.us < a.us ? b : a));
      const mine = of.find((t) => t.engine);
      const name = (v: MatvecVariant) => `${v.workgroup}/${v.threadsPerRow}/${v.rowsPerGroup}`;
      out.push(row([m.model, m.weightType, role, (best.bytes / 1e6).toFixed(1), mine ? name(mine.variant) : '-', f1(mine?.us), mine ? gbs(mine.bytesPerSecond) : '-',
        name(best.variant), f1(best.us), gbs(best.bytesPerSecond), pct(best.bytesPerSecond / copyBytesPerSecond)]));
    }
  }
  return out.join('\n');
}
