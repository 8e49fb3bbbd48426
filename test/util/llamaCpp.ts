// llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU build, offline) as the oracle for the same GGUF the test reads:
// token ids (vocabulary only) and greedy decoding with next-token probabilities. Each runs in a child process.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './paths';

export interface OracleCase {
  readonly text: string;
  /** parse_special: match control tokens written in the text. */
  readonly special: boolean;
}

/** llama_tokenize(add_special = false) ids per case, in order. Throws with the child's stderr if it fails. */
export function llamaCppTokenize(ggufPath: string, cases: readonly OracleCase[]): number[][] {
  return runOracle('llamaCppTokenize.mjs', 'IDS ', { model: ggufPath, cases }) as number[][];
}

export interface EvalRun {
  readonly prompt: readonly number[];
  /** Greedy tokens to decode after the prompt. */
  readonly steps: number;
  /** KV cache element type (K and V), as llama.cpp names it; default its F16. */
  readonly kvType?: 'F32' | 'F16';
  /** Default llama.cpp's 'auto'. */
  readonly flashAttention?: boolean;
}

export interface EvalResult {
  /** The greedy tokens. */
  readonly tokens: number[];
  /** Per step, the next-token distribution as [id, probability] pairs, highest first (down to 1e-7). */
  readonly probs: [number, number][][];
}

/** Greedy decoding with next-token distributions, per run (each in a fresh context of `contextSize`). */
export function llamaCppEval(ggufPath: string, contextSize: number, runs: readonly EvalRun[]): EvalResult[] {
  return runOracle('llamaCppEval.mjs', 'RESULT ', { model: ggufPath, contextSize, runs }) as EvalResult[];
}

function runOracle(script: string, prefix: string, input: unknown): unknown {
  const r = spawnSync(process.execPath, [join(repoRoot, 'test/util', script)], {
    cwd: repoRoot,
    input: JSON.stringify(input),
    maxBuffer: 256 << 20,
    timeout: 300_000,
  });
  const lines = r.stdout.toString('utf8').split('\n');
  const at = lines.findIndex((l) => l.startsWith(prefix));
  if (r.status !== 0 || at < 0) {
    throw new Error(`llama.cpp oracle ${script} exited ${r.status ?? r.signal}: ${r.stderr.toString('utf8').slice(-2000)}`);
  }
  const line = lines[at];
  // The result line ends with a newline; without one the child exited before its output drained.
  if (at === lines.length - 1) throw new Error(`llama.cpp oracle ${script}: its result line was cut short after ${line.length} characters`);
  return JSON.parse(line.slice(prefix.length));
}
