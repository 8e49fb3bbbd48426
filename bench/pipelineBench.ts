// The extension's own pipeline on a workspace (issue 9): time to the first answer token when a question is asked,
// through gpu/session/WorkspaceSession, the code the extension's engine process runs for model/load → context/build →
// context/prefill → answer/generate (serve.ts). Stages, in order, on one copy of a real source tree:
//   cold        a new engine process, no persisted cache: load, read + tokenize + pack, prefill all, answer
//   warmDisk    a new engine process (the window reopened), the persisted KV cache on disk (kvStore.ts) restored
//   warmMemory  the next question in the same process: the context is already in the KV cache
//   editFirst   one file in the middle of the context edited: it moves to the end (mtime order), so the cache is
//               reused up to its old position and everything after is prefilled again
//   editAgain   the same file edited again, now the last file: only it is prefilled again (the usual working pattern)
// The model is synthetic (random weights, the shape asked for) with p50k_base, the default model's tokenizer, padded
// to the shape's vocabulary: tokenizing the workspace costs what it costs for a real BPE vocabulary. Answers are noise.
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Gpu } from '../gpu/device';
import { type SyntheticShape, type SyntheticWeightPlan, weightPlanName, writeSyntheticModel } from '../gpu/model/syntheticModel';
import type { DecodeSettings, ReaderSettings } from '../gpu/protocol';
import { WorkspaceSession } from '../gpu/session/workspaceSession';
import { p50kTokenizerMetadata } from '../gpu/tokenizer/p50k';
import { DEFAULT_MAX_FILE_BYTES } from '../extension/context/readSource';
import { shapeText } from './modelSource';

export interface PipelinePlan {
  readonly shape: SyntheticShape;
  readonly weightType: SyntheticWeightPlan;
  /** Tokens the engine allocates (questLens.maxContextTokens); the packed context is this less the reserve. */
  readonly maxContext: number;
  readonly pageSize: number;
  /** Folders of the source tree copied into the workspace (relative to it). */
  readonly folders: readonly string[];
  readonly question: string;
  readonly decode: DecodeSettings;
}

export type PipelineStageName = 'cold' | 'warmDisk' | 'warmMemory' | 'editFirst' | 'editAgain';

export interface PipelineStage {
  readonly stage: PipelineStageName;
  /** Model load (a new engine process only). */
  readonly loadMs?: number;
  /** context/build: read, tokenize and pack the workspace. */
  readonly buildMs: number;
  /** context/prefill: restore from disk or reuse memory, prefill the rest, persist (persistMs of it). */
  readonly prefillMs: number;
  readonly persistMs?: number;
  readonly contextTokens: number;
  readonly reusedTokens: number;
  readonly reusedFrom: 'memory' | 'disk' | 'none';
  readonly prefilledTokens: number;
  /** answer/generate until its first token: the question's prefill and the first decodeStep. */
  readonly firstTokenMs: number;
  /** What the user waits from asking to the first answer token with the model loaded: build + prefill + first token. */
  readonly timeToFirstTokenMs: number;
  readonly answerTokens: number;
  readonly decodeTokensPerSecond: number;
  /** editFirst / editAgain: the edited file and where its tokens started before the edit. */
  readonly editedFile?: string;
  readonly editedTokenStart?: number;
}

export interface PipelineResult {
  readonly model: string;
  readonly shape: string;
  readonly weightType: string;
  readonly tokenizer: 'p50k_base';
  readonly maxContext: number;
  readonly pageSize: number;
  readonly decode: DecodeSettings;
  readonly question: string;
  readonly workspace: { readonly folders: readonly string[]; readonly files: number; readonly bytes: number; readonly filesInContext: number; readonly skipped: number };
  readonly stages: PipelineStage[];
}

export interface PipelineContext {
  readonly gpu: Gpu;
  readonly tmpDir: string;
  /** The source tree the workspace is copied from (the repository). */
  readonly source: string;
  readonly log: (message: string) => void;
}

const reader: ReaderSettings = { include: [], exclude: [], filesExclude: {}, searchExclude: {}, useGitignore: true, maxFileBytes: DEFAULT_MAX_FILE_BYTES };
/** Every copied file's mtime (whole seconds, as the packer orders): an unedited tree packs in path order. */
const copiedMtime = new Date('2026-01-01T00:00:00Z');

export async function benchPipeline(c: PipelineContext, plan: PipelinePlan, done: (r: PipelineResult) => void): Promise<void> {
  const root = join(c.tmpDir, 'pipeline');
  rmSync(root, { recursive: true, force: true });
  const ws = join(root, 'workspace');
  const kvDir = join(root, 'kv');
  const modelPath = join(root, 'model.gguf');
  mkdirSync(ws, { recursive: true });
  try {
    let files = 0;
    let bytes = 0;
    for (const f of plan.folders) {
      cpSync(join(c.source, f), join(ws, f), { recursive: true });
      for (const p of listFiles(join(ws, f))) {
        utimesSync(p, copiedMtime, copiedMtime);
        files++;
        bytes += statSync(p).size;
      }
    }
    const type = weightPlanName(plan.weightType);
    c.log(`pipeline: ${files} files (${(bytes / 1024).toFixed(0)} KiB) of ${plan.folders.join(', ')}; writing ${plan.shape.name} ${type} with p50k_base`);
    await writeSyntheticModel(modelPath, { shape: plan.shape, weightType: plan.weightType, seed: 1, tokenizer: p50kTokenizerMetadata() });

    let persistMs: number | undefined;
    const log = (level: string, m: string) => {
      const persisted = /^persisted \d+ context tokens to .* in (\d+) ms$/.exec(m);
      if (persisted) persistMs = Number(persisted[1]);
      else if (level !== 'info') c.log(`  session ${level}: ${m}`);
    };
    const open = () => new WorkspaceSession(() => Promise.resolve(c.gpu), { kvCacheDir: kvDir, log });
    const load = async (s: WorkspaceSession) => {
      const t0 = performance.now();
      await s.loadModel({ path: modelPath, maxContext: plan.maxContext, pageSize: plan.pageSize });
      return performance.now() - t0;
    };
    const ask = async (s: WorkspaceSession, stage: PipelineStageName, extra: Partial<PipelineStage> = {}): Promise<PipelineStage> => {
      persistMs = undefined;
      const t0 = performance.now();
      await s.buildContext({ folders: [{ name: 'workspace', path: ws }], reader, question: plan.question });
      const t1 = performance.now();
      const pre = await s.prefill();
      const t2 = performance.now();
      let first: number | undefined;
      const answer = await s.answer({ question: plan.question, decode: plan.decode }, { onToken: () => (first ??= performance.now()) });
      if (first === undefined) throw new Error(`pipeline ${stage}: the answer produced no token`);
      const r: PipelineStage = {
        stage,
        ...extra,
        buildMs: t1 - t0,
        prefillMs: t2 - t1,
        ...(persistMs !== undefined ? { persistMs } : {}),
        contextTokens: pre.tokens,
        reusedTokens: pre.reused,
        reusedFrom: pre.source,
        prefilledTokens: pre.tokens - pre.reused,
        firstTokenMs: first - t2,
        timeToFirstTokenMs: first - t0,
        answerTokens: answer.trace.steps.length,
        decodeTokensPerSecond: answer.decodeTokensPerSecond,
      };
      c.log(
        `  ${stage}: ${r.loadMs !== undefined ? `load ${(r.loadMs / 1000).toFixed(2)} s, ` : ''}build ${(r.buildMs / 1000).toFixed(2)} s, ` +
          `prefill ${r.prefilledTokens} of ${r.contextTokens} tokens (${r.reusedTokens} from ${r.reusedFrom}) ${(r.prefillMs / 1000).toFixed(2)} s` +
          `${r.persistMs !== undefined ? ` (persist ${(r.persistMs / 1000).toFixed(2)} s)` : ''}, first token ${r.firstTokenMs.toFixed(0)} ms: ` +
          `time to first token ${(r.timeToFirstTokenMs / 1000).toFixed(2)} s`,
      );
      return r;
    };

    const stages: PipelineStage[] = [];
    let session = open();
    let result: PipelineResult | undefined;
    try {
      stages.push(await ask(session, 'cold', { loadMs: await load(session) }));
      const manifest = session.manifest!;
      result = {
        model: plan.shape.name,
        shape: shapeText(plan.shape),
        weightType: type,
        tokenizer: 'p50k_base',
        maxContext: plan.maxContext,
        pageSize: plan.pageSize,
        decode: plan.decode,
        question: plan.question,
        workspace: { folders: plan.folders, files, bytes, filesInContext: manifest.files.length, skipped: manifest.skipped.length },
        stages,
      };
      done(result);
      session.dispose();
      session = open();
      stages.push(await ask(session, 'warmDisk', { loadMs: await load(session) }));
      stages.push(await ask(session, 'warmMemory'));
      // The file holding the context's middle token: its first edit costs about half the context.
      const middle = manifest.files.find((f) => f.tokenStart <= manifest.totalTokens / 2 && manifest.totalTokens / 2 < f.tokenEnd) ?? manifest.files[0];
      for (const stage of ['editFirst', 'editAgain'] as const) {
        const span = session.manifest!.files.find((f) => f.relPath === middle.relPath)!;
        editFile(join(ws, middle.relPath), stage);
        stages.push(await ask(session, stage, { editedFile: middle.path, editedTokenStart: span.tokenStart }));
      }
      done(result);
    } finally {
      session.dispose();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The repository around `from`: the nearest folder up whose package.json is Quest Lens's. */
export function findRepoRoot(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'quest-lens') return dir;
    } catch {
      // no package.json here: look further up
    }
    if (dirname(dir) === dir) throw new Error(`pipeline: no Quest Lens repository (package.json named quest-lens) in ${resolve(from)} or above: pass --source DIR`);
  }
}

/** Inserts a comment line in the middle of the file (as an edit would); its mtime becomes now. */
function editFile(path: string, tag: string): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.splice(Math.floor(lines.length / 2), 0, `// ${tag}: edited by the pipeline bench`);
  writeFileSync(path, lines.join('\n'));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}
