// Try Quest Lens in a real VS Code in your browser: builds and packages the VSIX from the working tree, installs it
// into a fresh code-server (a throwaway profile: nothing lands in your $HOME or VS Code settings), opens FOLDER
// (default: this repository) and prints the URL. Runs until Ctrl-C; listens on 127.0.0.1 only.
//   node scripts/try-in-browser.mjs [FOLDER] [--port N] [--vsix FILE]
// --vsix installs that package instead of packaging the working tree (test/e2e/try.test.ts passes the one under test).
// First run installs code-server (≈ 2–5 min, cached; see scripts/vscode-host.mjs).
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { ensureWebGpu } from './ensure-webgpu.mjs';
import { packageVsix } from './package-vsix.mjs';
import { ensureVscodeHost } from './vscode-host.mjs';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const args = process.argv.slice(2);
const portAt = args.indexOf('--port');
const portArg = portAt >= 0 ? args.splice(portAt, 2)[1] : '0';
const port = Number(portArg);
if (!/^\d+$/.test(portArg ?? '') || port > 65535) fail(`--port must be a port number, got ${portArg}`);
const vsixAt = args.indexOf('--vsix');
const vsixArg = vsixAt >= 0 ? args.splice(vsixAt, 2)[1] : undefined;
if (args.length > 1 || args[0]?.startsWith('-')) fail('usage: node scripts/try-in-browser.mjs [FOLDER] [--port N] [--vsix FILE]');
// npm scripts run in the package root; INIT_CWD is where the user typed the command.
const cwd = process.env.INIT_CWD ?? process.cwd();
const givenVsix = vsixArg === undefined ? undefined : resolve(cwd, vsixArg);
if (vsixAt >= 0 && !(givenVsix && existsSync(givenVsix))) fail(`--vsix must name a VSIX file, got ${vsixArg}`);
const workspace = resolve(cwd, args[0] ?? repo);
if (!existsSync(workspace) || !statSync(workspace).isDirectory()) fail(`${workspace} is not a folder`);

const work = join(repo, 'out', `try-in-browser-${process.pid}`);
mkdirSync(work, { recursive: true });
try {
  ensureWebGpu();
  const host = await ensureVscodeHost({ chromium: false, log: (l) => console.log(l) });
  const vsix = givenVsix ?? packageVsix(join(work, 'quest-lens.vsix'), { log: (l) => console.log(l) });
  // The launcher the e2e tests use (TypeScript): bundled here for plain Node.
  await esbuild.build({
    entryPoints: [join(repo, 'test', 'e2e', 'host', 'codeServer.ts')],
    outfile: join(work, 'codeServer.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'error',
  });
  const { CodeServer } = await import(pathToFileURL(join(work, 'codeServer.mjs')).href);
  const server = await CodeServer.start({ host, vsix: { path: vsix, as: 'installed' }, workspace, copyWorkspace: false, port });
  rmSync(work, { recursive: true, force: true });
  console.log(`\nQuest Lens in VS Code (code-server), workspace ${workspace}:\n\n  ${server.url()}\n`);
  console.log('Open the command palette (F1) and type "Quest Lens". Ctrl-C stops the server and removes its profile.');
  await new Promise(() => {}); // Ctrl-C: the launcher's exit handler stops code-server and removes the profile
} catch (err) {
  rmSync(work, { recursive: true, force: true });
  fail(err.message);
}

function fail(message) {
  console.error(`try-in-browser: ${message}`);
  process.exit(1);
}
