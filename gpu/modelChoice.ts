// Which model a CLI command loads: --model FILE, else the built-in model (extension/models/builtinModel.ts), and what
// to tell the user when it is the built-in one.
import { existsSync } from 'node:fs';
import { builtinModelExamples, builtinModelPath } from '../extension/models/builtinModel';
import { integerFlag } from './cliArgs';

export interface ModelChoice {
  readonly path: string;
  readonly builtin: boolean;
  /** Lines for stderr: which model, what it can and cannot answer (empty for a model the user gave). */
  readonly notice: readonly string[];
}

/**
 * `given` (the --model value) or the built-in model beside `distDir` (dist/cli.js's folder); a string when there is
 * none to load: the message, naming the command.
 */
export function modelOrBuiltin(command: string, given: string | undefined, distDir: string): ModelChoice | string {
  if (given) return { path: given, builtin: false, notice: [] };
  const path = builtinModelPath(distDir);
  if (!existsSync(path)) {
    return `quest-lens ${command}: no --model given, and the built-in model ${path} is missing (the package ships it in model/ beside dist/): give --model FILE.gguf`;
  }
  return {
    path,
    builtin: true,
    notice: [
      `no --model given: using the built-in model ${path}`,
      `it answers where-is, definition and signature questions by quoting your code (${builtinModelExamples.join(' ')}); it does not explain code or write code`,
      'for open questions give a larger GGUF model: --model FILE.gguf (Qwen2.5-Coder-1.5B-Instruct or similar)',
    ],
  };
}

/**
 * --page-size as a load request takes it: absent, undefined, so that the engine uses the model's recommended page
 * size (`questlens.page_size`; the built-in model's is 4), else 16. A value given explicitly always wins.
 */
export function pageSizeFlag(value: string | undefined): number | undefined {
  return value === undefined ? undefined : integerFlag('page-size', value);
}
