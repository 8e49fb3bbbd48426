// What a test session needs before code-server starts: the installed host (scripts/vscode-host.mjs) and the VSIX
// (scripts/package-vsix.mjs). scripts/run-e2e.mjs does both once and passes them on in the environment; a test
// file run on its own does them itself.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostPaths } from './codeServer';

/** Set by scripts/run-e2e.mjs: the host paths as JSON, and the packaged VSIX. */
export const hostEnv = 'QUEST_LENS_E2E_HOST';
export const vsixEnv = 'QUEST_LENS_E2E_VSIX';

/** The repository root: tests run from it (scripts/run-e2e.mjs sets the cwd). */
export function repoRoot(): string {
  const root = process.cwd();
  const pkg = join(root, 'package.json');
  if (!existsSync(pkg) || JSON.parse(readFileSync(pkg, 'utf8')).name !== 'quest-lens') {
    throw new Error(`the e2e tests must run from the quest-lens repository root; the cwd is ${root}`);
  }
  return root;
}

/** Screenshots and logs of the e2e tests: out/artifacts/e2e/. */
export function artifactsDir(): string {
  const dir = join(repoRoot(), 'out', 'artifacts', 'e2e');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Installs code-server + Chromium when missing (cached; well under a second when present). */
export function vscodeHost(): HostPaths {
  const given = process.env[hostEnv];
  if (given) return JSON.parse(given) as HostPaths;
  const out = execFileSync(process.execPath, [join(repoRoot(), 'scripts', 'vscode-host.mjs')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop()!) as HostPaths;
}

/** The VSIX under test: the one run-e2e.mjs packaged, else a fresh private package of the working tree (`owned`: delete it after). */
export function vsixUnderTest(): { readonly path: string; readonly owned: boolean } {
  const given = process.env[vsixEnv];
  if (given) {
    if (!existsSync(given)) throw new Error(`${vsixEnv}=${given} does not exist`);
    return { path: given, owned: false };
  }
  const path = join(tmpdir(), `quest-lens-e2e-${process.pid}.vsix`);
  execFileSync(process.execPath, [join(repoRoot(), 'scripts', 'package-vsix.mjs'), path], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { path, owned: true };
}
