// `npm start`, after the build and scripts/ensure-webgpu.mjs: the main job on the built-in model. Asks one question
// about a workspace with `quest-lens ask` (no --model: model/default.gguf) and prints the streamed answer, its
// citations (file:line) and the pages the answer read per file.
//   npm start                                     this repository: "Where is `formatBytes` defined?"
//   npm start -- DIR "QUESTION" [ask options]     a workspace of your choice (DIR relative to where npm was run)
// A software adapter (lavapipe, ≈10–20 tokens/s of prefill on 2 cores) gets a 2,048-token context unless --context
// is given; a GPU gets ask's default (8,192). The persisted KV cache makes a second run skip the prefill.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = resolve(repo, 'dist', 'cli.js');
/** A name this repository defines in a small file (extension/format.ts), so that a 2,048-token context holds it. */
const defaultQuestion = 'Where is `formatBytes` defined?';
const softwareContext = 2048;

const [dir, question, ...options] = process.argv.slice(2);
if (dir !== undefined && question === undefined) {
  console.error('usage: npm start -- [DIR "QUESTION" [quest-lens ask options]]\n(with a workspace, give the question too: e.g. "Where is `main` defined?")');
  process.exit(2);
}
const workspace = dir === undefined ? repo : resolve(process.env.INIT_CWD ?? process.cwd(), dir);

const args = ['ask', '--workspace', workspace];
if (!options.includes('--context') && isSoftwareAdapter()) {
  console.error(`[start] software adapter: a ${softwareContext}-token context (a GPU gets 8,192; --context N sets it)`);
  args.push('--context', String(softwareContext));
}
args.push(...options, question ?? defaultQuestion);
console.error(`[start] quest-lens ${args.map((a) => (/[\s`"]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);

/** Whether the adapter the engine will use is a software one (quest-lens doctor --json). */
function isSoftwareAdapter() {
  const r = spawnSync(process.execPath, [cli, 'doctor', '--json'], { encoding: 'utf8' });
  if (r.status !== 0) {
    // No adapter: ask fails with the same explanation; show doctor's now.
    process.stderr.write(r.stderr);
    process.exit(r.status ?? 1);
  }
  return JSON.parse(r.stdout).isSoftware === true;
}
