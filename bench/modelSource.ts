// Where a bench plan's model comes from: a synthetic GGUF written to the temp folder (the same bytes every run, so
// llama.cpp can be given the same file), or a model file on disk, such as the built-in model, read as it is.
import { rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readGguf } from '../gpu/gguf/reader';
import { type ModelConfig, readModelConfig } from '../gpu/model/config';
import { ggmlTypeInfo } from '../gpu/model/ggmlTypes';
import { type SyntheticShape, type SyntheticWeightPlan, weightPlanName, writeSyntheticModel } from '../gpu/model/syntheticModel';

/** A synthetic model of `shape`, every matrix of `weightType` (bench/suites.ts). */
export interface SyntheticSource {
  readonly shape: SyntheticShape;
  readonly weightType: SyntheticWeightPlan;
}

/**
 * A GGUF on disk, decoded with the page size and dense layers it recommends (`questlens.page_size`,
 * `questlens.dense_layers`; else the engine's defaults): `file` is relative to the repository root.
 */
export interface FileSource {
  readonly file: string;
}

export type ModelSource = SyntheticSource | FileSource;

export const isFileSource = (s: ModelSource): s is FileSource => 'file' in s;

/** The model a plan runs, on disk, with what its results name it by. */
export interface BenchModelFile {
  readonly path: string;
  /** ModelResult.model: the synthetic shape's name, or the file's general.name. */
  readonly name: string;
  readonly shape: string;
  /** The synthetic plan's type, or the file's matrix types by bytes, largest first (`Q8_0+Q4_0+Q6_K`). */
  readonly weightType: string;
  readonly parameters: number;
  readonly fileBytes: number;
  /** Time to write the synthetic file; absent for a model file. */
  readonly generateMs?: number;
  /** Removes what was written (a model file is left alone). */
  readonly remove: () => void;
}

/** Writes the synthetic model into `tmpDir`, or opens the model file under `root`. */
export async function openModelSource(source: ModelSource, o: { readonly tmpDir: string; readonly root: string }): Promise<BenchModelFile> {
  if (isFileSource(source)) {
    const path = resolve(o.root, source.file);
    const gguf = await readGguf(path);
    const cfg = readModelConfig(gguf);
    const bytes = new Map<string, number>();
    for (const t of gguf.tensors) {
      if (t.dims.length < 2) continue; // norms and biases: F32 in every file
      const name = ggmlTypeInfo[t.type].name;
      bytes.set(name, (bytes.get(name) ?? 0) + t.bytes);
    }
    return {
      path,
      name: cfg.name || basename(path),
      shape: shapeText(cfg),
      weightType: [...bytes].sort((a, b) => b[1] - a[1]).map(([n]) => n).join('+'),
      parameters: gguf.tensors.reduce((s, t) => s + t.elements, 0),
      fileBytes: statSync(path).size,
      remove: () => {},
    };
  }
  const type = weightPlanName(source.weightType);
  const path = join(o.tmpDir, `${source.shape.name.replace(/[^A-Za-z0-9.-]+/g, '_')}-${type}.gguf`);
  const t0 = performance.now();
  const file = await writeSyntheticModel(path, { shape: source.shape, weightType: source.weightType, seed: 1 });
  return {
    path,
    name: source.shape.name,
    shape: shapeText(source.shape),
    weightType: type,
    parameters: file.parameters,
    fileBytes: file.fileSize,
    generateMs: performance.now() - t0,
    remove: () => rmSync(path, { force: true }),
  };
}

export function shapeText(s: Pick<ModelConfig, 'layers' | 'dim' | 'ffn' | 'heads' | 'kvHeads' | 'headDim' | 'vocab'>): string {
  return `${s.layers} layers, dim ${s.dim}, ffn ${s.ffn}, ${s.heads}/${s.kvHeads} heads × ${s.headDim}, vocab ${s.vocab}`;
}
