// The model's weights on the GPU, loaded once from the GGUF file: matrices stream from disk into their GPU layout
// (gpu/quant/upload.ts: bounded host memory, never expanded to f32); vectors (norms, biases) become f32 buffers.
import { createStorageWith } from '../buffers';
import type { Gpu } from '../device';
import { type GgufFile, type GgufTensorInfo, readTensorBytes, readTensorData } from '../gguf/reader';
import { dequantizeRows } from '../quant/codec';
import { WeightUploader } from '../quant/upload';
import { type WeightTensor, destroyWeight } from '../quant/weight';
import type { ModelConfig } from './config';

export interface LayerWeights {
  readonly attnNorm: GPUBuffer; //  (dim) f32
  readonly wq: WeightTensor; //     (heads*headDim, dim)
  readonly wk: WeightTensor; //     (kvHeads*headDim, dim)
  readonly wv: WeightTensor; //     (kvHeads*headDim, dim)
  readonly wo: WeightTensor; //     (dim, heads*headDim)
  readonly bq?: GPUBuffer; //       (heads*headDim) f32, qwen2
  readonly bk?: GPUBuffer; //       (kvHeads*headDim) f32, qwen2
  readonly bv?: GPUBuffer; //       (kvHeads*headDim) f32, qwen2
  readonly qNorm?: GPUBuffer; //    (headDim) f32, qwen3
  readonly kNorm?: GPUBuffer; //    (headDim) f32, qwen3
  readonly ffnNorm: GPUBuffer; //   (dim) f32
  readonly wGate: WeightTensor; //  (ffn, dim)
  readonly wUp: WeightTensor; //    (ffn, dim)
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

  try {
    const tokenEmbd = await matrix('token_embd.weight');
    const output = cfg.tiedEmbeddings ? tokenEmbd : await matrix('output.weight');
    const outputNorm = await vector('output_norm.weight');
    const ropeFreqs = cfg.ropeFreqsTensor ? await hostVector(cfg.ropeFreqsTensor) : undefined;
    const layers: LayerWeights[] = [];
    for (let l = 0; l < cfg.layers; l++) {
      const p = `blk.${l}.`;
      layers.push({
        attnNorm: await vector(`${p}attn_norm.weight`),
        wq: await matrix(`${p}attn_q.weight`),
        wk: await matrix(`${p}attn_k.weight`),
        wv: await matrix(`${p}attn_v.weight`),
        wo: await matrix(`${p}attn_output.weight`),
        bq: await optional(`${p}attn_q.bias`, cfg.qkvBias),
        bk: await optional(`${p}attn_k.bias`, cfg.qkvBias),
        bv: await optional(`${p}attn_v.bias`, cfg.qkvBias),
        qNorm: await optional(`${p}attn_q_norm.weight`, cfg.qkNorm),
        kNorm: await optional(`${p}attn_k_norm.weight`, cfg.qkNorm),
        ffnNorm: await vector(`${p}ffn_norm.weight`),
        wGate: await matrix(`${p}ffn_gate.weight`),
        wUp: await matrix(`${p}ffn_up.weight`),
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
