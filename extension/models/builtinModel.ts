// The built-in model: model/default.gguf, trained by the project (model/README.md), shipped in the package beside
// dist/ (the VSIX, an npm install, a checkout). The extension and the CLI load it when no model is configured, and
// say what it can and cannot answer: it quotes the packed workspace, it does not explain or write code.
// No vscode import: the CLI (gpu/ask.ts, gpu/generate.ts) and the unit tests use it too.
import { resolve } from 'node:path';

/**
 * The built-in model's file, for a bundle in `distDir` (dist/extension.js and dist/cli.js both sit in the package's
 * dist/, and the model in its model/).
 */
export function builtinModelPath(distDir: string): string {
  return resolve(distDir, '..', 'model', 'default.gguf');
}

/** What the status bar, the Select Model list and the chat call it. */
export const BUILTIN_MODEL_LABEL = 'Built-in model';

/** Questions it was trained on (model/corpus/promptFormat.ts's phrasings), as examples to show. */
export const builtinModelExamples: readonly string[] = [
  'Where is `name` defined?',
  'Show the definition of `name`.',
  'What does `name` take and return?',
];

/** What it answers and what it does not, in a few plain sentences (no markdown). */
export const builtinModelAbout =
  'The built-in model is small: it answers by quoting your code. Ask where something is defined ' +
  `(${builtinModelExamples[0]}, ${builtinModelExamples[1]}) or what a function takes and returns ` +
  `(${builtinModelExamples[2]}): it answers with the name and the line it found, and a name it cannot find in the ` +
  'context gets "not defined in the context". It does not explain code, answer open questions or write code: for ' +
  'those, select a larger GGUF model (Qwen2.5-Coder-1.5B-Instruct or similar).';

/**
 * Whether a question is one the built-in model was trained on (where is X defined, its definition, its signature,
 * the pass key). A loose match on the trained phrasings' words: it only decides whether to warn that the answer will
 * be a quote at best.
 */
export function isBuiltinModelQuestion(question: string): boolean {
  return /\b(where\b.*\b(defined|declared)|definition|declared|signature|parameters|take\s+and\s+return|pass\s*key)\b/i.test(question);
}
