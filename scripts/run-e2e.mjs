// The e2e suite (test/e2e/): the extension from its VSIX in a real VS Code (code-server) driven by Chromium, plus
// in-host tests inside that VS Code's extension host. Installs what is missing first (scripts/vscode-host.mjs,
// cached), packages the VSIX privately once, bundles the test files into a private folder and runs them one file at
// a time. Ends with a counted summary line and the time of every phase.
//   node scripts/run-e2e.mjs                          every test/e2e/*.test.ts
//   node scripts/run-e2e.mjs test/e2e/ui.test.ts ...  only these files
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { ensureWebGpu } from './ensure-webgpu.mjs';
import { packageVsix } from './package-vsix.mjs';
import { ensureVscodeHost } from './vscode-host.mjs';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
process.chdir(repo);
const t0 = Date.now();
const secs = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const timed = async (label, fn) => {
  const t = Date.now();
  const result = await fn();
  console.log(`[e2e] ${label}: ${secs(t)}`);
  return result;
};

const args = process.argv.slice(2);
const files = args.length ? args : readdirSync('test/e2e').filter((f) => f.endsWith('.test.ts')).map((f) => join('test/e2e', f));
const outdir = join('out', `e2e-${process.pid}`);
let status = 1;
try {
  await timed('webgpu (lavapipe)', ensureWebGpu);
  const host = await timed('vscode host', () => ensureVscodeHost({ log: (l) => console.log(l) }));
  const vsix = await timed('package vsix', () => packageVsix(join(outdir, 'quest-lens.vsix'), { log: () => {} }));
  await timed('bundle tests', () =>
    esbuild.build({
      entryPoints: files,
      outdir,
      outbase: 'test/e2e',
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      sourcemap: true,
      external: ['vscode', 'webgpu', 'playwright-core', 'esbuild'],
      logLevel: 'error',
    }),
  );
  mkdirSync(outdir, { recursive: true });
  const tap = join(outdir, 'results.tap');
  const tests = files.map((f) => join(outdir, f.replace(/^test[\\/]e2e[\\/]/, '').replace(/\.ts$/, '.js')));
  const run = await timed('node --test', () =>
    spawnForwardingSignals(
      process.execPath,
      [
        '--enable-source-maps',
        '--test',
        '--test-concurrency=1',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        '--test-reporter=tap',
        `--test-reporter-destination=${tap}`,
        ...tests,
      ],
      {
        stdio: 'inherit',
        env: { ...process.env, QUEST_LENS_E2E_HOST: JSON.stringify(host), QUEST_LENS_E2E_VSIX: vsix },
      },
    ),
  );
  const summary = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (key) => new RegExp(`^# ${key} (\\d+)$`, 'm').exec(summary)?.[1];
  const [pass, fail] = [count('pass'), count('fail')];
  if (pass === undefined || fail === undefined) {
    console.log(`[e2e] interrupted (exit ${run}) after ${secs(t0)}: no summary`);
  } else {
    console.log(`[e2e] ${files.length} files in ${secs(t0)}`);
    console.log(`e2e: ${pass} passed, ${fail} failed`);
    status = run === 0 && fail === '0' && pass !== '0' ? 0 : 1;
  }
} catch (err) {
  console.error(`[e2e] ${err.message}`);
  console.log(`[e2e] setup failed after ${secs(t0)}`);
  console.log('e2e: 0 passed, 1 failed');
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
process.exit(status);

/** Runs a command to its end; Ctrl-C or a kill of this process is passed on (its own after-hooks stop code-server). */
function spawnForwardingSignals(cmd, argv, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, options);
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    const forward = (signal) => child.kill(signal);
    for (const s of signals) process.on(s, forward);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(signal ? 128 + (osConstants.signals[signal] ?? 0) : code);
    });
  });
}
