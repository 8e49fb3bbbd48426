// Token ids from llama.cpp (node-llama-cpp 3.21.1, CPU build, vocabulary only) for the same GGUF the test reads.
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
  const r = spawnSync(process.execPath, [join(repoRoot, 'test/util/llamaCppTokenize.mjs')], {
    cwd: repoRoot,
    input: JSON.stringify({ model: ggufPath, cases }),
    maxBuffer: 256 << 20,
    timeout: 120_000,
  });
  const line = r.stdout.toString('utf8').split('\n').find((l) => l.startsWith('IDS '));
  if (r.status !== 0 || !line) {
    throw new Error(`llama.cpp oracle exited ${r.status ?? r.signal}: ${r.stderr.toString('utf8').slice(-2000)}`);
  }
  return JSON.parse(line.slice(4)) as number[][];
}
