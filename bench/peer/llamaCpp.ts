// Runs the llama.cpp peer (dist/benchPeer.mjs, bundled from llamaCppRunner.ts) as a child process: a crash, a hang
// or its GPU memory stays there, and node-llama-cpp (ESM with native addons) never enters the bench bundle.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LlamaCppRequest, LlamaCppRun } from './peerTypes';

export interface LlamaCppOptions {
  /** The runner bundle; default benchPeer.mjs beside the running bench bundle (dist/, or the device's carried folder). */
  readonly runner?: string;
  /** Lines the runner prints on stderr. */
  readonly log?: (line: string) => void;
  readonly timeoutMs?: number;
}

/** Measures `req` with llama.cpp; throws with the runner's last stderr lines when it fails or times out. */
export function runLlamaCpp(req: LlamaCppRequest, o: LlamaCppOptions = {}): Promise<LlamaCppRun> {
  const runner = o.runner ?? join(__dirname, 'benchPeer.mjs');
  if (!existsSync(runner)) {
    return Promise.reject(new Error(`llama.cpp peer: runner ${runner} does not exist: run \`node build.mjs\` (it bundles bench/peer/llamaCppRunner.ts)`));
  }
  const timeoutMs = o.timeoutMs ?? 600_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    const tail: string[] = [];
    let partial = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => {
      const lines = (partial + d.toString('utf8')).split('\n');
      partial = lines.pop()!;
      for (const l of lines) {
        tail.push(l);
        if (tail.length > 40) tail.shift();
        o.log?.(l);
      }
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`llama.cpp peer on ${req.model} ran past ${timeoutMs / 1000} s and was killed:\n${tail.join('\n')}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`llama.cpp peer: could not start ${process.execPath} ${runner}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (partial) tail.push(partial);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) {
        reject(new Error(`llama.cpp peer on ${req.model} exited ${code ?? signal} without a result:\n${tail.join('\n')}`));
        return;
      }
      resolve(JSON.parse(line.slice('RESULT '.length)) as LlamaCppRun);
    });
    child.stdin.end(JSON.stringify(req));
  });
}
