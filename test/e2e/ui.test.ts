// UI tests: the extension installed from the VSIX into a real code-server, driven through Chromium as a person would.
// Screenshots: out/artifacts/e2e/ui-*.png.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { addedInHome, snapshotHome, startVscode, type VscodeSession } from './harness';

const home = snapshotHome();
let vscode: VscodeSession | undefined;

// Startup ≈ 15–25 s on 2 cores; each step after it a few seconds. The limits only stop a hang.
before(async () => {
  vscode = await startVscode({ name: 'ui' });
}, { timeout: 180_000 });

after(async () => {
  await vscode?.dispose();
});

test('the command palette lists every command the extension contributes', { timeout: 90_000 }, async () => {
  const { workbench, server } = vscode!;
  const pkg = JSON.parse(readFileSync(join(server.extensionDir!, 'package.json'), 'utf8'));
  const contributed = (pkg.contributes.commands as Array<{ category: string; title: string }>).map((c) => `${c.category}: ${c.title}`);
  // VS Code adds a "Focus on <view> View" command for every contributed view, under its container's title.
  const containers = new Map((pkg.contributes.viewsContainers?.activitybar ?? []).map((c: { id: string; title: string }) => [c.id, c.title]));
  for (const [container, views] of Object.entries((pkg.contributes.views ?? {}) as Record<string, Array<{ name: string }>>)) {
    for (const v of views) contributed.push(`${containers.get(container) ?? container}: Focus on ${v.name} View`);
  }
  const listed = (await workbench.paletteCommands('Quest Lens:')).filter((l) => l.startsWith('Quest Lens: '));
  await workbench.screenshot('palette');
  assert.deepEqual([...listed].sort(), [...contributed].sort());
});

test('Show GPU Info names the adapter that the engine process opened inside code-server', { timeout: 90_000 }, async () => {
  const { workbench, server } = vscode!;
  // The same VSIX's engine, run outside VS Code on this machine, names the adapter to expect.
  const doctor = execFileSync(process.execPath, [join(server.extensionDir!, 'dist', 'cli.js'), 'doctor', '--json'], {
    env: server.env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const expected = JSON.parse(doctor) as { description: string };
  await workbench.runCommand('Quest Lens: Show GPU Info');
  const message = await workbench.waitForNotification('Quest Lens GPU:', 60_000);
  await workbench.screenshot('gpu-info');
  assert.ok(message.includes(`(${expected.description})`), `"${message}" does not name the adapter "${expected.description}"`);
});

test('Show Log opens the Quest Lens output channel with the engine log', { timeout: 90_000 }, async () => {
  const { workbench } = vscode!;
  await workbench.runCommand('Quest Lens: Show Log');
  // The previous test's request started the engine, which logged the adapter. The view shows the log's end, where
  // lines logged after it (Dawn's adapter warnings, the workspace estimate) can push it out of sight: filter the
  // channel to it, as a user looking for it would.
  await workbench.panel().getByPlaceholder(/^Filter/).fill('GPU:');
  await workbench.panel().locator('.monaco-editor .view-lines', { hasText: /GPU:\s/ }).first().waitFor({ timeout: 10_000 });
  await workbench.screenshot('log');
  assert.equal(await workbench.outputChannel(), 'Quest Lens');
  assert.match(await workbench.panelText(), /\[info\] GPU: [^]+; features /); // wrapped: [^] spans the line breaks
});

test('the harness reads which file and line the editor shows', { timeout: 90_000 }, async () => {
  // What the heatmap tests will check after clicking a page: here reached through Quick Open.
  const { workbench, server } = vscode!;
  await workbench.quickOpen('retry.ts:12');
  await workbench.page.waitForFunction('document.title.endsWith("retry.ts")', undefined, { timeout: 10_000 });
  const editor = await workbench.activeEditor();
  await workbench.screenshot('editor');
  assert.equal(relative(server.workspace, editor.path), join('src', 'retry.ts'));
  assert.equal(editor.line, 12);
});

test('the session leaves nothing in $HOME', { timeout: 90_000 }, async () => {
  await vscode?.dispose();
  assert.deepEqual(addedInHome(home), [], 'new entries in $HOME (two levels deep)');
});
