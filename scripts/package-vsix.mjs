// Packages the VSIX from the working tree without touching the repo's dist/: `npm run package` (the same production
// build and vsce call) runs in a private staging copy, and only the .vsix comes out. The e2e tests and
// scripts/try-in-browser.mjs use it, so they can run while other builds read dist/.
//
//   node scripts/package-vsix.mjs OUT.vsix
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Build outputs, tool state and dependencies are never copied; node_modules is linked (vsce reads the production
// dependencies through it).
const skip = new Set(['.git', 'node_modules', 'dist', 'out', '.device', '.gl', '.whl']);
// Nested build data never packaged: the default model's corpus, checkpoints and carry bundles (gigabytes).
const skipNested = [join(repo, 'model', '.data')];

/** Builds and packages the extension into `outFile`; returns its absolute path. */
export function packageVsix(outFile, { log = (l) => console.error(l) } = {}) {
  const out = resolve(outFile);
  const t0 = Date.now();
  const stage = join(repo, 'out', `vsix-stage-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  try {
    for (const name of readdirSync(repo)) {
      if (skip.has(name)) continue;
      cpSync(join(repo, name), join(stage, name), {
        recursive: true,
        filter: (src) => !src.includes('/node_modules/') && !skipNested.some((d) => src === d || src.startsWith(`${d}/`)),
      });
    }
    symlinkSync(join(repo, 'node_modules'), join(stage, 'node_modules'), 'dir');
    try {
      execFileSync('npm', ['run', '--silent', 'package'], { cwd: stage, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    } catch (err) {
      throw new Error(`npm run package failed in ${stage} (exit code ${err.status}):\n${err.stdout}${err.stderr}`);
    }
    // package.json's script names the file; take whichever single .vsix it wrote.
    const made = readdirSync(join(stage, 'dist')).filter((f) => f.endsWith('.vsix'));
    if (made.length !== 1) throw new Error(`npm run package should write one .vsix into dist/, wrote [${made.join(', ')}]`);
    mkdirSync(dirname(out), { recursive: true });
    cpSync(join(stage, 'dist', made[0]), out);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  log(`[package-vsix] ${out}: ${(statSync(out).size / 1e6).toFixed(2)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [outFile] = process.argv.slice(2);
  if (!outFile) {
    console.error('usage: node scripts/package-vsix.mjs OUT.vsix');
    process.exit(2);
  }
  try {
    console.log(packageVsix(outFile));
  } catch (err) {
    console.error(`[package-vsix] ${err.message}`);
    process.exit(1);
  }
}
