// The test command (`npm test`, also what .ci/run calls): type-checks, bundles the tests, runs them with node:test.
//   node scripts/test.mjs              every tier
//   node scripts/test.mjs unit kernels only these tiers (folders under test/)
// Kernel tests need a WebGPU adapter; on a Linux machine without a GPU this provisions Mesa 25 lavapipe first.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const tiers = process.argv.slice(2);
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
const timed = (label, fn) => {
  const t0 = Date.now();
  fn();
  console.log(`[test] ${label}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
};

timed('typecheck', () => run('npm', ['run', '--silent', 'typecheck']));
timed('bundle', () => run('node', ['build.mjs', '--tests']));
if (process.platform === 'linux' && !process.env.VK_DRIVER_FILES) {
  timed('lavapipe', () => run('bash', ['scripts/provision-lavapipe.sh']));
}

const files = readdirSync('out/test', { recursive: true })
  .map(String)
  .filter((f) => f.endsWith('.test.js') && (tiers.length === 0 || tiers.includes(f.split(/[\\/]/)[0])))
  .map((f) => join('out/test', f))
  .sort();
if (files.length === 0) {
  console.error(`[test] no test files for tiers ${tiers.join(', ') || '(all)'}`);
  process.exit(1);
}
const t0 = Date.now();
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
});
console.log(`[test] node --test: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(result.status ?? 1);
