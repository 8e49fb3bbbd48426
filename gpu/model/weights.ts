// The model's weights on the GPU, loaded once from the GGUF file: matrices stream from disk into their GPU layout
// (gpu/quant/upload.ts: bounded host memory, never expanded to f32); vectors (norms, biases) become f32 buffers.
// Matrices applied to the same input (attn_q/k/v, ffn_gate/up) are uploaded as one weight, rows concatenated, when
// they share a type and fit one binding: a decodeStep then reads them in one matvec instead of one each.
import { createStorageWith } from '../buffers';
import type { Gpu } from '../device';
import { type GgufFile, type GgufTensorInfo, readTensorBytes, readTensorData } from '../gguf/reader';
import { dequantizeRows } from '../quant/codec';
import { gpuLayout } from '../quant/layout';
import { WeightUploader } from '../quant/upload';
import { type WeightTensor, destroyWeight } from '../quant/weight';
import type { ModelConfig } from './config';

/** Consecutive matrices of one input held in one weight: rows of the first, then of the next. */
export interface FusedWeight {
  readonly weight: WeightTensor; //      (Σ segments, cols)
  readonly segments: readonly number[]; // rows of each matrix, in order
}

export interface LayerWeights {
  readonly attnNorm: GPUBuffer; //  (dim) f32
  /** attn_q (heads*headDim, dim), attn_k and attn_v (kvHeads*headDim, dim) in order: one weight if they fuse. */
  readonly qkv: readonly FusedWeight[];
  readonly wo: WeightTensor; //     (dim, heads*headDim)
  readonly bq?: GPUBuffer; //       (heads*headDim) f32, qwen2
  readonly bk?: GPUBuffer; //       (kvHeads*headDim) f32, qwen2
  readonly bv?: GPUBuffer; //       (kvHeads*headDim) f32, qwen2
  /** ((heads + 2*kvHeads)*headDim) f32: bq, bk, bv in one, for a fused qkv's decode matvec (qwen2). */
  readonly bqkv?: GPUBuffer;
  readonly qNorm?: GPUBuffer; //    (headDim) f32, qwen3
  readonly kNorm?: GPUBuffer; //    (headDim) f32, qwen3
  readonly ffnNorm: GPUBuffer; //   (dim) f32
  /** ffn_gate then ffn_up, (ffn, dim) each: one weight if they fuse. */
  readonly gateUp: readonly FusedWeight[];
  readonly wDown: WeightTensor; //  (dim, ffn)
}

export interface ModelWeights {
  readonly tokenEmbd: WeightTensor; // (vocab, dim)
  /** The LM head: token_embd itself when the embeddings are tied. */
  readonly output: WeightTensor; //    (vocab, dim)
  readonly outputNorm: GPUBuffer; //   (dim) f32
  /** rope_freqs.weight (dims/2) f32 divisors on the host, when the file has them (Llama 3.x). */
  readonly ropeFreqs?: Float32Array;
  readonly layers: readonly LayerWeights[];
  /** Bytes of every GPU buffer the weights hold. */
  readonly bytes: number;
  destroy(): void;
}

export interface LoadProgress {
  readonly tensorsDone: number;
  readonly tensors: number;
  readonly bytesDone: number;
  readonly bytes: number;
}

/** Streams every tensor the config names from `file` to the GPU. */
export async function loadWeights(
  gpu: Gpu,
  file: GgufFile,
  cfg: ModelConfig,
  onProgress?: (p: LoadProgress) => void,
  signal?: AbortSignal,
): Promise<ModelWeights> {
  const uploader = new WeightUploader(gpu);
  const made: (WeightTensor | GPUBuffer)[] = [];
  const tensors = file.tensors.length;
  const total = file.tensors.reduce((s, t) => s + t.bytes, 0);
  let tensorsDone = 0;
  let bytesDone = 0;
  const done = (t: GgufTensorInfo) => {
    tensorsDone++;
    bytesDone += t.bytes;
    onProgress?.({ tensorsDone, tensors, bytesDone, bytes: total });
  };
  const info = (name: string): GgufTensorInfo => {
    signal?.throwIfAborted();
    const t = file.tensor(name);
    if (!t) throw new Error(`${file.path}: tensor ${name} is missing`); // readModelConfig checked; a guard only
    return t;
  };
  const matrix = async (name: string): Promise<WeightTensor> => {
    const t = info(name);
    const [cols, rows] = t.dims;
    const w = await uploader.upload(name, t.type, rows, cols, readTensorBytes(file, t, { chunkBytes: 16 << 20 }));
    made.push(w);
    done(t);
    return w;
  };
  const hostVector = async (name: string): Promise<Float32Array> => {
    const t = info(name);
    const v = Float32Array.from(dequantizeRows(t.type, await readTensorData(file, t), 1, t.elements));
    done(t);
    return v;
  };
  const vector = async (name: string): Promise<GPUBuffer> => {
    const b = createStorageWith(gpu, name, await hostVector(name));
    made.push(b);
    return b;
  };
  const optional = async (name: string, present: boolean) => (present ? vector(name) : undefined);
  const limits = gpu.summary.limits;
  // Runs of consecutive matrices of one type whose rows fit one part, each uploaded as one weight.
  const fused = async (names: readonly string[]): Promise<FusedWeight[]> => {
    const tensors = names.map(info);
    const out: FusedWeight[] = [];
    for (let i = 0; i < tensors.length; ) {
      const [cols] = tensors[i].dims;
      let j = i + 1;
      let rows = tensors[i].dims[1];
      while (j < tensors.length && tensors[j].type === tensors[i].type && tensors[j].dims[0] === cols) {
        const layout = gpuLayout(tensors[i].type, rows + tensors[j].dims[1], cols, { maxBindingBytes: limits.maxStorageBufferBindingSize, maxBufferBytes: limits.maxBufferSize });
        if (layout.parts.length > 1) break;
        rows += tensors[j].dims[1];
        j++;
      }
      const run = tensors.slice(i, j);
      async function* bytes() {
        for (const t of run) yield* readTensorBytes(file, t, { chunkBytes: 16 << 20 });
      }
      const w = await uploader.upload(run.map((t) => t.name).join('+'), tensors[i].type, rows, cols, bytes());
      made.push(w);
      run.forEach(done);
      out.push({ weight: w, segments: run.map((t) => t.dims[1]) });
      i = j;
    }
    return out;
  };
  /** One f32 buffer holding the given host vectors in order. */
  const concatenated = (name: string, parts: readonly Float32Array[]): GPUBuffer => {
    const all = new Float32Array(parts.reduce((n, v) => n + v.length, 0));
    parts.reduce((at, v) => (all.set(v, at), at + v.length), 0);
    const b = createStorageWith(gpu, name, all);
    made.push(b);
    return b;
  };

  try {
    const tokenEmbd = await matrix('token_embd.weight');
    const output = cfg.tiedEmbeddings ? tokenEmbd : await matrix('output.weight');
    const outputNorm = await vector('output_norm.weight');
    const ropeFreqs = cfg.ropeFreqsTensor ? await hostVector(cfg.ropeFreqsTensor) : undefined;
    const layers: LayerWeights[] = [];
    for (let l = 0; l < cfg.layers; l++) {
      const p = `blk.${l}.`;
      const attnNorm = await vector(`${p}attn_norm.weight`);
      const qkv = await fused([`${p}attn_q.weight`, `${p}attn_k.weight`, `${p}attn_v.weight`]);
      const wo = await matrix(`${p}attn_output.weight`);
      let biases: Pick<LayerWeights, 'bq' | 'bk' | 'bv' | 'bqkv'> = {};
      if (cfg.qkvBias) {
        const host = [await hostVector(`${p}attn_q.bias`), await hostVector(`${p}attn_k.bias`), await hostVector(`${p}attn_v.bias`)];
        const [bq, bk, bv] = host.map((v, i) => concatenated(`${p}attn_${'qkv'[i]}.bias`, [v]));
        biases = { bq, bk, bv, bqkv: qkv.length === 1 ? concatenated(`${p}attn_qkv.bias`, host) : undefined };
      }
      layers.push({
        attnNorm,
        qkv,
        wo,
        ...biases,
        qNorm: await optional(`${p}attn_q_norm.weight`, cfg.qkNorm),
        kNorm: await optional(`${p}attn_k_norm.weight`, cfg.qkNorm),
        ffnNorm: await vector(`${p}ffn_norm.weight`),
        gateUp: await fused([`${p}ffn_gate.weight`, `${p}ffn_up.weight`]),
        wDown: await matrix(`${p}ffn_down.weight`),
      });
    }
    await uploader.dispose();
    const bytes = made.reduce((s, m) => s + ('parts' in m ? m.parts.reduce((a, p) => a + p.buffer.size, 0) : m.size), 0);
    return {
      tokenEmbd,
      output,
      outputNorm,
      ropeFreqs,
      layers,
      bytes,
      destroy: () => destroyAll(made),
    };
  } catch (err) {
    await uploader.dispose();
    destroyAll(made);
    throw err;
  }
}

function destroyAll(made: readonly (WeightTensor | GPUBuffer)[]): void {
  for (const m of made) {
    if ('parts' in m) destroyWeight(m);
    else m.destroy();
  }
}
