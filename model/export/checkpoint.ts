// Reads the trainer's checkpoint folder (model/train/ckpt.py writes it; the layout is documented there): model.json
// plus the weight parts, every part checked against its size and sha256 before any tensor is decoded.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GgmlType, ggmlTensorBytes } from '../../gpu/model/ggmlTypes';
import { dequantizeRows } from '../../gpu/quant/codec';
import { bf16ToNumber } from '../../gpu/quant/half';

export const CHECKPOINT_FORMAT = 'quest-lens-checkpoint';
export const CHECKPOINT_VERSION = 1;

export type CheckpointDtype = 'f32' | 'bf16' | 'q8_0';

/** The architecture numbers (model/train/model.py ModelConfig, as JSON). */
export interface CheckpointConfig {
  readonly layers: number;
  readonly dim: number;
  readonly ffn: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocab: number;
  readonly normEps: number;
  readonly ropeTheta: number;
  readonly contextLength: number;
}

export interface CheckpointTensor {
  readonly name: string;
  readonly dtype: CheckpointDtype;
  /** [rows, cols] (cols contiguous) or [n]. */
  readonly shape: readonly number[];
  readonly offset: number;
  readonly bytes: number;
}

export interface CheckpointHeader {
  readonly format: string;
  readonly version: number;
  readonly config: CheckpointConfig;
  readonly tensors: readonly CheckpointTensor[];
  readonly parts: readonly { readonly file: string; readonly bytes: number; readonly sha256: string }[];
  /** Free-form: step, tokens seen, corpus, prompt format and answer style, run id. */
  readonly training: Readonly<Record<string, unknown>>;
}

export class CheckpointError extends Error {
  constructor(
    readonly folder: string,
    problem: string,
  ) {
    super(`checkpoint ${folder}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

export interface Checkpoint {
  readonly folder: string;
  readonly header: CheckpointHeader;
  /** The tensor's values, row-major (float64: exact for every stored type). */
  values(name: string): Float64Array;
}

function elementsOf(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function dtypeBytes(dtype: CheckpointDtype, shape: readonly number[]): number {
  const n = elementsOf(shape);
  if (dtype === 'f32') return 4 * n;
  if (dtype === 'bf16') return 2 * n;
  return ggmlTensorBytes(GgmlType.Q8_0, n);
}

const configKeys: readonly (keyof CheckpointConfig)[] = ['layers', 'dim', 'ffn', 'heads', 'kvHeads', 'headDim', 'vocab', 'normEps', 'ropeTheta', 'contextLength'];

export function readCheckpoint(folder: string): Checkpoint {
  const fail = (problem: string): never => {
    throw new CheckpointError(folder, problem);
  };
  let header: CheckpointHeader;
  try {
    header = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8')) as CheckpointHeader;
  } catch (e) {
    return fail(`model.json cannot be read: ${(e as Error).message}`);
  }
  if (header.format !== CHECKPOINT_FORMAT || header.version !== CHECKPOINT_VERSION) {
    fail(`format '${header.format}' v${header.version}, expected '${CHECKPOINT_FORMAT}' v${CHECKPOINT_VERSION}`);
  }
  for (const k of configKeys) {
    const v = header.config?.[k];
    if (!(typeof v === 'number' && v > 0)) fail(`config.${k} must be a positive number, got ${JSON.stringify(v)}`);
  }
  const blobs: Buffer[] = [];
  for (const p of header.parts) {
    let data: Buffer;
    try {
      data = readFileSync(join(folder, p.file));
    } catch (e) {
      return fail(`part ${p.file} cannot be read: ${(e as Error).message}`);
    }
    const sha = createHash('sha256').update(data).digest('hex');
    if (data.length !== p.bytes || sha !== p.sha256) {
      fail(`part ${p.file} has ${data.length} bytes and sha256 ${sha.slice(0, 12)}…, model.json says ${p.bytes} bytes and ${p.sha256.slice(0, 12)}… (truncated or mixed-up transfer?)`);
    }
    blobs.push(data);
  }
  const blob = Buffer.concat(blobs);
  const byName = new Map<string, CheckpointTensor>();
  for (const t of header.tensors) {
    if (!['f32', 'bf16', 'q8_0'].includes(t.dtype)) fail(`tensor ${t.name}: unknown dtype '${t.dtype}'`);
    if (t.dtype === 'q8_0' && t.shape[t.shape.length - 1] % 32 !== 0) fail(`tensor ${t.name}: q8_0 rows of ${t.shape[t.shape.length - 1]} are not whole blocks of 32`);
    const want = dtypeBytes(t.dtype, t.shape);
    if (t.bytes !== want) fail(`tensor ${t.name}: ${t.bytes} bytes, ${t.dtype} [${t.shape.join(', ')}] needs ${want}`);
    if (t.offset < 0 || t.offset + t.bytes > blob.length) fail(`tensor ${t.name}: bytes [${t.offset}, ${t.offset + t.bytes}) lie outside the ${blob.length} bytes of the parts`);
    byName.set(t.name, t);
  }
  return {
    folder,
    header,
    values(name: string): Float64Array {
      const t = byName.get(name) ?? fail(`no tensor '${name}'`);
      const bytes = new Uint8Array(blob.buffer, blob.byteOffset + t.offset, t.bytes);
      const n = elementsOf(t.shape);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (t.dtype === 'f32') return Float64Array.from({ length: n }, (_, i) => dv.getFloat32(4 * i, true));
      if (t.dtype === 'bf16') return Float64Array.from({ length: n }, (_, i) => bf16ToNumber(dv.getUint16(2 * i, true)));
      const cols = t.shape[t.shape.length - 1];
      return dequantizeRows(GgmlType.Q8_0, bytes, n / cols, cols);
    },
  };
}
