// `npm run try -- FOLDER` (scripts/try-in-browser.mjs), the way to try the product without a desktop VS Code: it
// prints a URL where VS Code runs with the extension installed on the folder; Chromium opens it; Ctrl-C stops the
// server and removes its profile, leaving nothing behind. The script installs the VSIX under test (--vsix) rather
// than packaging the working tree again. Screenshot: out/artifacts/e2e/try-workbench.png.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { addedInHome, fixtureWorkspace, launchChromium, snapshotHome } from './harness';
import { artifactsDir, repoRoot, vscodeHost, vsixUnderTest } from './host/setup';
import { Workbench } from './host/workbench';

const dir = mkdtempSync(join(tmpdir(), 'quest-lens-try-'));
let child: ChildProcess | undefined;
let vsix: ReturnType<typeof vsixUnderTest> | undefined;

after(() => {
  if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (vsix?.owned) rmSync(vsix.path, { force: true });
  rmSync(dir, { recursive: true, force: true });
});

/** The test's own browser keeps its profile, HOME and temp files in `dir`: only the script is under test. */
function browserEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const d of ['home', 'tmp', 'xdg-config', 'xdg-cache']) mkdirSync(join(dir, 'browser', d), { recursive: true });
  return {
    ...env,
    HOME: join(dir, 'browser', 'home'),
    TMPDIR: join(dir, 'browser', 'tmp'),
    XDG_CONFIG_HOME: join(dir, 'browser', 'xdg-config'),
    XDG_CACHE_HOME: join(dir, 'browser', 'xdg-cache'),
  };
}

test('npm run try prints the URL of VS Code with the extension on the folder; Ctrl-C stops it and removes its profile', { timeout: 240_000 }, async () => {
  const home = snapshotHome();
  const host = vscodeHost();
  vsix = vsixUnderTest();
  const workspace = join(dir, 'my-project');
  cpSync(fixtureWorkspace(), workspace, { recursive: true });
  // The script's temp folders (code-server's profile) go here, to see that Ctrl-C removes them.
  const scratch = join(dir, 'tmp');
  mkdirSync(scratch);
  child = spawn(process.execPath, [join(repoRoot(), 'scripts', 'try-in-browser.mjs'), workspace, '--vsix', vsix.path], {
    cwd: repoRoot(),
    env: { ...process.env, TMPDIR: scratch, INIT_CWD: repoRoot() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | string>((r) => child!.once('exit', (code, signal) => r(code ?? String(signal))));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 120 s:\n${output}`)), 120_000);
    const look = () => {
      const m = /^\s+(http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+)$/m.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child!.stdout!.on('data', look);
    void exited.then((code) => reject(new Error(`try-in-browser exited (${code}) before printing a URL:\n${output}`)));
  });
  assert.equal(new URL(url).searchParams.get('folder'), workspace);
  assert.equal(readdirSync(scratch).filter((d) => d.startsWith('quest-lens-vscode-')).length, 1, 'one code-server profile');

  const browser = await launchChromium(host.chromium!, join(dir, 'browser', 'profile'), browserEnv());
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const workbench = new Workbench(page, artifactsDir(), 'try');
    await workbench.open(url);
    await workbench.explorerRow('README.md').waitFor({ timeout: 30_000 });
    // The extension is installed and active: its status bar item counts the folder's tokens.
    await page.locator('.part.statusbar .statusbar-item', { hasText: /Built-in model · ≈[\d.]+K? tokens/ }).waitFor({ timeout: 60_000 });
    assert.ok((await workbench.paletteCommands('Quest Lens:')).includes('Quest Lens: Ask about the Workspace'));
    await workbench.screenshot('workbench');
  } finally {
    await browser.close();
  }

  child.kill('SIGINT');
  assert.equal(await exited, 130, `exit after Ctrl-C; output:\n${output}`);
  assert.deepEqual(readdirSync(scratch), [], 'left in the temp folder after Ctrl-C');
  await assert.rejects(fetch(url), 'the server still answers after Ctrl-C');
  assert.ok(!existsSync(join(repoRoot(), 'out', `try-in-browser-${child.pid}`)), 'the script\'s work folder is left in out/');
  assert.deepEqual(addedInHome(home), [], 'new entries in $HOME (two levels deep)');
});
