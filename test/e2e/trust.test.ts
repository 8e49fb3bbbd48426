// Workspace trust in the real host (package.json capabilities.untrustedWorkspaces: limited; questLens.modelPath is
// a restricted setting). code-server runs with trust on, and the fixture workspace's .vscode/settings.json sets a
// model path and the decoding mode, as a cloned repository could. In restricted mode the workspace's model path is
// ignored: the status bar and the chat say so and name the built-in model, which Load uses (it ships with the
// extension, so no workspace chose it); the commands that write settings still work; Select Model chooses a model
// for this machine; trusting the folder applies the workspace's model. Screenshots: out/artifacts/e2e/trust-*.png.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fixtureWorkspace, questLensLogs, startVscode, type VscodeSession } from './harness';
import { sharedModel } from './host/models';

let vscode: VscodeSession | undefined;
const dir = mkdtempSync(join(tmpdir(), 'quest-lens-trust-'));
/** What the workspace's settings name: the real file, by its own path. */
const workspaceModel = sharedModel('stories260K.gguf');
/** What Select Model finds on this machine: the same weights under a Hugging Face cache path. */
const hubModel = join(dir, 'hub', 'models--tiny--stories-GGUF', 'snapshots', 'rev1', 'stories260K-Q8.gguf');

before(async () => {
  const workspace = join(dir, 'workspace');
  cpSync(fixtureWorkspace(), workspace, { recursive: true });
  mkdirSync(join(workspace, '.vscode'));
  writeFileSync(
    join(workspace, '.vscode', 'settings.json'),
    JSON.stringify({ 'questLens.modelPath': workspaceModel, 'questLens.mode': 'dense' }, null, 2),
  );
  mkdirSync(join(hubModel, '..'), { recursive: true });
  symlinkSync(workspaceModel, hubModel);
  vscode = await startVscode({
    name: 'trust',
    workspace,
    workspaceTrust: true,
    env: { HF_HUB_CACHE: join(dir, 'hub') },
    settings: { 'questLens.maxAnswerTokens': 8, 'questLens.tokenBudget': 64 },
  });
}, { timeout: 180_000 });

after(async () => {
  await vscode?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const statusBar = () => vscode!.workbench.page.locator('.part.statusbar');
/** The Quest Lens status bar item (its telescope icon). */
const statusItem = () => statusBar().locator('.statusbar-item', { has: vscode!.workbench.page.locator('.codicon-telescope') }).first();
const workspaceSettings = () => JSON.parse(readFileSync(join(vscode!.server.workspace, '.vscode', 'settings.json'), 'utf8'));
const log = () => questLensLogs(vscode!.server).join('');

test('restricted mode: the workspace\'s model path is ignored, the status bar and chat say so, and Load uses the built-in model', { timeout: 300_000 }, async () => {
  const { workbench } = vscode!;
  const page = workbench.page;
  await statusBar().locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor({ timeout: 30_000 });
  await statusItem().filter({ hasText: 'Built-in model' }).waitFor({ timeout: 30_000 });
  await statusItem().hover();
  // VS Code hides a restricted setting's workspace value from extensions: the tooltip cannot name it, only the rule.
  const hover = page.locator('.workbench-hover, .monaco-hover', { hasText: 'restricted mode ignores a model path set in workspace settings' }).first();
  await hover.waitFor({ timeout: 10_000 });
  assert.match((await hover.textContent()) ?? '', /It does not explain code, answer open questions or write code.*Select Model/);
  await workbench.screenshot('restricted-status');
  await page.mouse.move(700, 400);

  // The chat's welcome names the built-in model and what it can answer.
  await statusItem().click();
  const chat = workbench.webview();
  await chat.locator('.welcome .welcome-model', { hasText: 'Model: Built-in model' }).waitFor({ timeout: 30_000 });
  assert.match((await chat.locator('.welcome').textContent()) ?? '', /answers by quoting your code/);
  await workbench.screenshot('restricted-chat');

  await workbench.runCommand('Quest Lens: Load Workspace into Context');
  await workbench.waitForNotification(/tokens from \d+ files are in context/, 240_000, { failOnError: true });
  await workbench.screenshot('restricted-load');
  // The engine loaded the model shipped in the extension, never the workspace's.
  assert.match(log(), /no model selected: using the built-in model/);
  assert.match(log(), /model \S+\/model\/default\.gguf: llama/);
  assert.ok(!log().includes(`model ${workspaceModel}:`), 'the engine loaded the workspace\'s model in restricted mode');
  await workbench.clearNotifications();
});

test('restricted mode: Switch Dense/Quest switches the mode that the workspace sets', { timeout: 90_000 }, async () => {
  // questLens.mode is not restricted: the workspace's value applies, so the switch must write it there.
  const { workbench } = vscode!;
  assert.equal(workspaceSettings()['questLens.mode'], 'dense');
  await workbench.runCommand('Quest Lens: Switch Dense/Quest');
  await statusBar().locator('.statusbar-item', { hasText: 'Quest Lens: Quest decoding' }).waitFor({ timeout: 10_000 });
  assert.equal(workspaceSettings()['questLens.mode'], 'quest');
  await workbench.runCommand('Quest Lens: Switch Dense/Quest');
  await statusBar().locator('.statusbar-item', { hasText: 'Quest Lens: dense decoding' }).waitFor({ timeout: 10_000 });
  assert.equal(workspaceSettings()['questLens.mode'], 'dense');
  assert.equal(workspaceSettings()['questLens.modelPath'], workspaceModel);
});

test('restricted mode: Select Model chooses a model for this machine, and Load uses it', { timeout: 180_000 }, async () => {
  const { workbench, server } = vscode!;
  const page = workbench.page;
  await workbench.runCommand('Quest Lens: Select Model');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'tiny/stories-GGUF/stories260K-Q8.gguf' }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
  await statusItem().locator('text=tiny/stories-GGUF/stories260K-Q8.gguf').waitFor({ timeout: 10_000 });
  // The user's (here: the remote machine's) settings hold the choice; the workspace's file is left as it was.
  const machine = JSON.parse(readFileSync(join(server.userDataDir, 'Machine', 'settings.json'), 'utf8'));
  assert.equal(machine['questLens.modelPath'], hubModel);
  assert.equal(workspaceSettings()['questLens.modelPath'], workspaceModel);
  await workbench.runCommand('Quest Lens: Load Workspace into Context');
  await workbench.waitForNotification(/tokens from \d+ files are in context/, 150_000, { failOnError: true });
  await workbench.screenshot('restricted-selected');
  assert.ok(log().includes(`model ${hubModel}: llama`), 'the engine did not load the model chosen for this machine');
  assert.ok(!log().includes(`model ${workspaceModel}:`), 'the engine loaded the workspace\'s model in restricted mode');
  await workbench.clearNotifications();
});

test('trusting the folder (Manage Workspace Trust, then Trust) applies the workspace\'s model path', { timeout: 180_000 }, async () => {
  const { workbench } = vscode!;
  const page = workbench.page;
  await workbench.runCommand('Workspaces: Manage Workspace Trust');
  const trust = page.locator('.workspace-trust-editor .monaco-button', { hasText: /^Trust$/ }).first();
  await trust.waitFor({ timeout: 20_000 });
  await workbench.screenshot('trust-editor');
  await trust.click();
  await statusBar().locator('.statusbar-item', { hasText: 'Restricted Mode' }).waitFor({ state: 'detached', timeout: 20_000 });
  await workbench.runCommand('Quest Lens: Load Workspace into Context');
  await workbench.waitForNotification(/tokens from \d+ files are in context/, 150_000, { failOnError: true });
  await statusItem().filter({ hasText: 'stories260K · ' }).waitFor({ timeout: 10_000 });
  assert.ok(log().includes(`model ${workspaceModel}: llama`), 'the trusted workspace\'s model was not loaded');
  await workbench.screenshot('trusted');
});
