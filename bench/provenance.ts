// Where a bench or eval run came from: the commit (BENCH_COMMIT / BENCH_DIRTY or EVAL_COMMIT / EVAL_DIRTY on the GPU
// machine, which gets the working tree without .git), the device with its NVIDIA driver when there is one, the
// webgpu package's version, and a file's sha256. bench/results.ts and eval/results.ts record these fields alike.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The fields every result file starts with (after its schema). */
export interface RunProvenance {
  readonly date: string;
  readonly commit: string;
  readonly dirty: boolean;
  readonly command: string;
  readonly device: {
    readonly description: string;
    readonly vendor: string;
    readonly architecture: string;
    readonly driver?: string;
    readonly isSoftware: boolean;
  };
}

/** The commit and whether the tree is dirty; `env` names the variables that override git (`BENCH`: BENCH_COMMIT). */
export function commit(env: 'BENCH' | 'EVAL'): { commit: string; dirty: boolean } {
  const git = (args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const envDirty = process.env[`${env}_DIRTY`];
  let hash = process.env[`${env}_COMMIT`];
  let dirty = envDirty === undefined ? undefined : envDirty === '1';
  try {
    hash ??= git(['rev-parse', 'HEAD']);
    dirty ??= git(['status', '--porcelain', '--untracked-files=no']) !== '';
  } catch {
    // no git here (the GPU machine): what the COMMIT variable said, or unknown
  }
  return { commit: hash ?? 'unknown', dirty: dirty ?? true };
}

export function driver(): { driver?: string } {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { driver: `NVIDIA ${out.trim().split('\n')[0].split(', ').reverse().join(', ')}` };
  } catch {
    return {};
  }
}

export function packageVersion(name: string): string {
  try {
    // dist/eval.mjs is ESM (no __filename); dist/bench.js and the test bundles are CommonJS (no import.meta).
    const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
    return (JSON.parse(readFileSync(req.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
