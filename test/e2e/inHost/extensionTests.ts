// In-host tests of the commands, settings, engine session and chat (issue 5), run after the basic tests of tests.ts
// in the same extension host. They share one engine process and run in order: Select Model sets stories260K
// (QUEST_LENS_E2E_MODEL), the later tests load, prefill, ask and stop with it. Answers are never compared to text
// (the model tells children's stories): structure only.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countTokens } from 'gpt-tokenizer/encoding/p50k_base';
import * as vscode from 'vscode';
import type { LoadedContext } from '../../../extension/commands';
import type { QuestLensApi } from '../../../extension/extension';
import { formatTokens } from '../../../extension/format';
import { modelEnv } from '../host/models';
import type { InHostTest } from './tests';

interface Helpers {
  engineProcesses(): number[];
  questLensLog(): string;
  waitFor(ok: () => boolean, ms: number, what: string): Promise<void>;
}

const extensionId = 'quest-lens.quest-lens';
/** The fixture's files (test/e2e/fixtures/workspace), all of which the reader takes. */
const fixtureFiles = ['README.md', 'src/config.js', 'src/index.ts', 'src/retry.ts', 'src/slugify.ts'];

export function extensionTests(h: Helpers): InHostTest[] {
  const config = () => vscode.workspace.getConfiguration('questLens');
  const user = <T>(key: string) => config().inspect<T>(key)?.globalValue;
  const model = () => {
    const path = process.env[modelEnv];
    assert.ok(path, `${modelEnv} should name the GGUF model for these tests`);
    return path;
  };
  const folder = () => {
    const f = vscode.workspace.workspaceFolders?.[0];
    assert.ok(f, 'the session should open the fixture workspace');
    return f;
  };
  const load = async () => (await vscode.commands.executeCommand<LoadedContext | undefined>('questLens.loadWorkspace')) ?? assert.fail('Load Workspace into Context failed or was cancelled; log:\n' + h.questLensLog().slice(-3000));

  return [
    {
      name: 'Switch Dense/Quest toggles questLens.mode in the user settings; an argument sets it',
      async run() {
        assert.equal(config().get('mode'), 'quest');
        await vscode.commands.executeCommand('questLens.switchMode');
        assert.equal(user('mode'), 'dense');
        assert.equal(config().get('mode'), 'dense');
        await vscode.commands.executeCommand('questLens.switchMode');
        assert.equal(config().get('mode'), 'quest');
        await vscode.commands.executeCommand('questLens.switchMode', 'dense');
        await vscode.commands.executeCommand('questLens.switchMode', 'dense');
        assert.equal(config().get('mode'), 'dense');
        await vscode.commands.executeCommand('questLens.switchMode', 'quest');
        assert.equal(user('mode'), 'quest');
      },
    },
    {
      name: 'Set Token Budget writes questLens.tokenBudget; a budget under 16 tokens is refused',
      async run() {
        await vscode.commands.executeCommand('questLens.setTokenBudget', 256);
        assert.equal(user('tokenBudget'), 256);
        await vscode.commands.executeCommand('questLens.setTokenBudget', 8);
        await vscode.commands.executeCommand('questLens.setTokenBudget', 100.5);
        assert.equal(config().get('tokenBudget'), 256);
        // Small budgets for the answers below: 4 pages of 16 tokens.
        await vscode.commands.executeCommand('questLens.setTokenBudget', 64);
        assert.equal(config().get('tokenBudget'), 64);
      },
    },
    {
      name: 'Select Model refuses a file that is not GGUF and sets questLens.modelPath to one that is',
      async run() {
        const notGguf = join(folder().uri.fsPath, 'README.md');
        assert.equal(await vscode.commands.executeCommand('questLens.selectModel', notGguf), undefined);
        assert.equal(user('modelPath'), undefined, 'a non-GGUF file must not be written to the settings');
        await h.waitFor(() => /README\.md is not a GGUF file/.test(h.questLensLog()), 5_000, 'the refusal in the log');
        assert.equal(await vscode.commands.executeCommand('questLens.selectModel', model()), model());
        assert.equal(user('modelPath'), model());
        await config().update('maxAnswerTokens', 12, vscode.ConfigurationTarget.Global);
      },
    },
    {
      name: 'the status bar shows the selected model and the workspace\'s size counted with gpt-tokenizer',
      timeoutMs: 30_000,
      async run() {
        const api = await activeApi();
        // Every fixture file is shorter than the sample size, so the estimate is the exact p50k count.
        const want = fixtureFiles.reduce((n, f) => n + countTokens(readFileSync(join(folder().uri.fsPath, f), 'utf8'), { disallowedSpecial: new Set() }), 0);
        await h.waitFor(() => api.workspaceTokens() === want, 20_000, `the workspace estimate to be ${want} (now ${api.workspaceTokens()})`);
        await h.waitFor(() => api.statusText().includes('stories260K'), 5_000, `the status bar to name the model (now "${api.statusText()}")`);
        assert.ok(api.statusText().includes(`≈${formatTokens(want)} tokens`), `"${api.statusText()}" should show ≈${formatTokens(want)} tokens`);
      },
    },
    {
      name: 'Load Workspace into Context prefills the fixture; the status bar shows tokens in context and KV memory',
      timeoutMs: 120_000,
      async run() {
        const api = await activeApi();
        const first = await load();
        // stories260K's 2048-token context leaves room for 4 of the 5 files (the packer reserves 512 for the question).
        assert.equal(first.files, 4);
        assert.ok(first.skipped >= 1, `files left out: ${first.skipped}`);
        assert.ok(first.tokens > 500 && first.tokens < 2048, `tokens in context: ${first.tokens}`);
        const status = api.statusText();
        assert.match(status, /stories260K · [\d.]+K? tokens · KV [\d.]+ (KiB|MiB)/, status);
        assert.equal(api.session.state.contextTokens, first.tokens);
        assert.equal(api.session.state.model?.layers, 5);
        // Asked again with nothing changed: the whole context is reused from the engine's memory.
        const again = await load();
        assert.deepEqual([again.tokens, again.reused, again.source], [first.tokens, first.tokens, 'memory']);
      },
    },
    {
      name: 'Clear Context Cache empties the engine\'s KV cache: the next load restores it from the persisted cache',
      timeoutMs: 120_000,
      async run() {
        const api = await activeApi();
        await vscode.commands.executeCommand('questLens.clearContext');
        assert.equal(api.session.state.contextTokens, undefined);
        assert.doesNotMatch(api.statusText(), /· [\d.]+K? tokens · KV/, 'the status bar still shows tokens in context');
        const after = await load();
        assert.equal(after.source, 'disk', `reused ${after.reused} of ${after.tokens} from ${after.source}`);
      },
    },
    {
      name: 'Ask about the Workspace streams an answer into a turn and keeps its trace for the heatmap',
      timeoutMs: 120_000,
      async run() {
        const api = await activeApi();
        await vscode.commands.executeCommand('questLens.askWorkspace', 'What does slugify do?');
        const turn = api.chat.snapshots.at(-1);
        assert.ok(turn, 'no turn');
        assert.equal(turn.question, 'What does slugify do?');
        assert.ok(turn.status === 'stop' || turn.status === 'length', `status ${turn.status} ${turn.error?.message ?? ''}`);
        assert.ok(turn.tokens.length >= 1 && turn.tokens.length <= 12, `tokens: ${turn.tokens.length}`);
        const heatmap = await api.chat.heatmap(turn.turnId);
        assert.ok(heatmap, 'no heatmap for the turn');
        const { trace, manifest } = heatmap;
        assert.equal(trace.steps.length, turn.tokens.length, 'one trace step per answer token');
        assert.deepEqual([trace.mode, trace.pageSize, trace.pageBudget, trace.layers], ['quest', 16, 4, 5]);
        for (const [i, s] of trace.steps.entries()) {
          assert.equal(s.pages.length, trace.layers, `step ${i}: pages per layer`);
          assert.ok(s.position >= trace.contextTokens, `step ${i}: position ${s.position} < contextTokens ${trace.contextTokens}`);
        }
        assert.deepEqual(manifest?.files.map((f) => f.relPath).sort(), ['README.md', 'src/config.js', 'src/index.ts', 'src/slugify.ts']);
        assert.ok(h.questLensLog().includes(`turn ${turn.turnId}: ${turn.tokens.length} tokens`), 'the log reports the answer');
        assert.ok(api.statusText().includes('tok/s'), `the status bar shows no decode speed: ${api.statusText()}`);
      },
    },
    {
      name: 'Ask about the Current File or Selection: the selection goes with the question, the open file stays in the window',
      timeoutMs: 180_000,
      async run() {
        const api = await activeApi();
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder().uri, 'src', 'retry.ts'));
        const editor = await vscode.window.showTextDocument(doc);
        editor.selection = new vscode.Selection(2, 4, 2, 4); // a cursor on line 3, nothing selected
        await vscode.commands.executeCommand('questLens.askSelection', 'What is this file for?');
        const plain = api.chat.snapshots.at(-1)!;
        assert.equal(plain.question, 'What is this file for? (src/retry.ts)');
        editor.selection = new vscode.Selection(2, 0, 9, 0); // lines 3-9
        await vscode.commands.executeCommand('questLens.askSelection', 'What is this file for?');
        const selected = api.chat.snapshots.at(-1)!;
        assert.equal(selected.question, 'What is this file for? (src/retry.ts:3-9)');
        for (const t of [plain, selected]) assert.ok(t.status === 'stop' || t.status === 'length', `status ${t.status} ${t.error?.message ?? ''}`);
        const a = (await api.chat.heatmap(plain.turnId))!;
        const b = (await api.chat.heatmap(selected.turnId))!;
        // retry.ts did not fit before (Load Workspace left it out); as the open file it is kept first.
        for (const hm of [a, b]) assert.ok(hm.manifest?.files.some((f) => f.relPath === 'src/retry.ts'), `files: ${hm.manifest?.files.map((f) => f.relPath)}`);
        assert.equal(a.manifest?.totalTokens, b.manifest?.totalTokens, 'the same context for both questions');
        // The prompt after the context holds the question; with the selection it is longer by about the 7 lines' tokens.
        const questionTokens = (hm: typeof a) => hm.trace.contextTokens - hm.manifest!.totalTokens;
        assert.ok(questionTokens(b) > questionTokens(a) + 40, `question tokens without selection ${questionTokens(a)}, with ${questionTokens(b)}`);
      },
    },
    {
      name: 'Stop ends a streaming answer as cancelled, keeping the tokens and trace so far',
      timeoutMs: 120_000,
      async run() {
        const api = await activeApi();
        await config().update('maxAnswerTokens', 400, vscode.ConfigurationTarget.Global);
        try {
          const asked = vscode.commands.executeCommand('questLens.askWorkspace', 'Tell me a long story about the config file.');
          await h.waitFor(() => api.chat.busy && (api.chat.snapshots.at(-1)?.tokens.length ?? 0) >= 3, 90_000, 'three streamed tokens');
          api.chat.stop();
          await asked;
          const turn = api.chat.snapshots.at(-1)!;
          assert.equal(turn.status, 'cancelled', turn.error?.message);
          assert.ok(turn.tokens.length >= 3 && turn.tokens.length < 400, `tokens: ${turn.tokens.length}`);
          const hm = await api.chat.heatmap(turn.turnId);
          assert.equal(hm?.trace.steps.length, turn.tokens.length);
        } finally {
          await config().update('maxAnswerTokens', 12, vscode.ConfigurationTarget.Global);
        }
      },
    },
    {
      name: 'an engine that dies during an answer: the turn fails saying so, and the next question starts a fresh engine',
      timeoutMs: 180_000,
      async run() {
        const api = await activeApi();
        await config().update('maxAnswerTokens', 400, vscode.ConfigurationTarget.Global);
        try {
          const asked = vscode.commands.executeCommand('questLens.askWorkspace', 'Tell me about the retry policy.');
          await h.waitFor(() => (api.chat.snapshots.at(-1)?.tokens.length ?? 0) >= 2, 90_000, 'two streamed tokens');
          const [pid] = h.engineProcesses();
          assert.ok(pid, 'no engine process');
          process.kill(pid, 'SIGKILL');
          await asked;
          const failed = api.chat.snapshots.at(-1)!;
          assert.equal(failed.status, 'error');
          assert.match(failed.error?.message ?? '', /engine process stopped \(killed by SIGKILL\)/);
          assert.equal(failed.error?.code, 'engine-exited');
          assert.equal(api.session.state.model, undefined, 'the engine state was not cleared');
        } finally {
          await config().update('maxAnswerTokens', 12, vscode.ConfigurationTarget.Global);
        }
        await vscode.commands.executeCommand('questLens.askWorkspace', 'What does slugify do?');
        const next = api.chat.snapshots.at(-1)!;
        assert.ok(next.status === 'stop' || next.status === 'length', `status ${next.status} ${next.error?.message ?? ''}`);
        assert.equal(h.engineProcesses().length, 1);
      },
    },
    {
      name: 'Show Page Heatmap opens the heatmap panel beside the editor',
      async run() {
        await vscode.commands.executeCommand('questLens.showHeatmap');
        await h.waitFor(() => heatmapTabs().length === 1, 10_000, 'a heatmap tab');
        await vscode.commands.executeCommand('questLens.showHeatmap');
        assert.equal(heatmapTabs().length, 1, 'a second Show Page Heatmap must reuse the panel');
      },
    },
    {
      name: 'a workspace-level model path applies in a trusted workspace (restricted mode: trust.test.ts, a session with trust on)',
      timeoutMs: 60_000,
      async run() {
        assert.equal(vscode.workspace.isTrusted, true);
        const missing = join(folder().uri.fsPath, 'models', 'missing.gguf');
        await config().update('modelPath', missing, vscode.ConfigurationTarget.Workspace);
        try {
          assert.equal(await vscode.commands.executeCommand('questLens.loadWorkspace'), undefined);
          await h.waitFor(() => h.questLensLog().includes(`The model ${missing} does not exist`), 10_000, 'the model-file error in the log');
        } finally {
          await config().update('modelPath', undefined, vscode.ConfigurationTarget.Workspace);
        }
      },
    },
    {
      name: 'Clear Conversation forgets the turns',
      async run() {
        const api = await activeApi();
        assert.ok(api.chat.snapshots.length > 0);
        await vscode.commands.executeCommand('questLens.clearConversation');
        assert.deepEqual(api.chat.snapshots, []);
        assert.equal(api.chat.latestTurnId(), undefined);
      },
    },
  ];
}

async function activeApi(): Promise<QuestLensApi> {
  const ext = vscode.extensions.getExtension<QuestLensApi>(extensionId);
  assert.ok(ext, `extension ${extensionId} is not loaded`);
  return ext.activate();
}

function heatmapTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('questLens.heatmap'));
}
