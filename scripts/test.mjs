// The test command (`npm test`, also what .ci/run calls): type-checks, bundles the tests, runs them with node:test.
//   node scripts/test.mjs                          every tier
//   node scripts/test.mjs unit kernels             only these tiers (folders under test/)
//   node scripts/test.mjs test/unit/x.test.ts ...  only these files, bundled into a private folder, no typecheck
// Kernel tests need a WebGPU adapter; on a Linux machine without a GPU this provisions Mesa 25 lavapipe first.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { ensureWebGpu } from './ensure-webgpu.mjs';

const args = process.argv.slice(2);
const files = args.filter((a) => a.endsWith('.test.ts'));
const tiers = args.filter((a) => !a.endsWith('.test.ts'));
const run = (cmd, argv) => execFileSync(cmd, argv, { stdio: 'inherit' });
const timed = async (label, fn) => {
  const t0 = Date.now();
  await fn();
  console.log(`[test] ${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
};

let outdir = 'out/test';
if (files.length) {
  // Several people (or helpers) may run single files at once: each run gets its own folder.
  outdir = `out/test-${process.pid}`;
  await timed('bundle', () =>
    esbuild.build({
      entryPoints: files,
      outdir,
      outbase: 'test',
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: true,
      external: ['vscode', 'webgpu'],
      loader: { '.wgsl': 'text' },
      logLevel: 'error',
    }),
  );
} else {
  await timed('typecheck', () => run('npm', ['run', '--silent', 'typecheck']));
  await timed('bundle', () => run('node', ['build.mjs', '--tests']));
}
await timed('webgpu', ensureWebGpu);

const selected = readdirSync(outdir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js') && (tiers.length === 0 || tiers.includes(f.split(/[\\/]/)[0])))
  .map((f) => join(outdir, f))
  .sort();
if (selected.length === 0) {
  console.error(`[test] no test files for ${args.join(' ') || 'any tier'}`);
  process.exit(1);
}
const t0 = Date.now();
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...selected], {
  stdio: 'inherit',
});
console.log(`[test] node --test: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
if (files.length) rmSync(outdir, { recursive: true, force: true });
process.exit(result.status ?? 1);
