// Tests that run inside VS Code's extension host, beside the extension installed from the VSIX (index.ts runs them).
// Add a test: push one more { name, run } onto inHostTests.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { extensionTests } from './extensionTests';

export interface InHostTest {
  readonly name: string;
  readonly run: () => Promise<void>;
  /** Default 30 s. */
  readonly timeoutMs?: number;
}

const extensionId = 'quest-lens.quest-lens';

/** The settings' defaults, as the README documents them. */
const expectedDefaults: Record<string, unknown> = {
  'questLens.modelPath': '',
  'questLens.mode': 'quest',
  'questLens.tokenBudget': 1024,
  'questLens.pageSize': 16,
  'questLens.denseLayers': 2,
  'questLens.aggregation': 'sum',
  'questLens.maxContextTokens': 8192,
  'questLens.include': [],
  'questLens.exclude': [],
  'questLens.useGitignore': true,
  'questLens.maxFileBytes': 1048576,
  'questLens.temperature': 0,
  'questLens.maxAnswerTokens': 512,
};

export const inHostTests: InHostTest[] = [
  {
    name: 'the extension activates and registers every command it contributes',
    async run() {
      const ext = extension();
      await ext.activate();
      const contributed = (ext.packageJSON.contributes.commands as Array<{ command: string }>).map((c) => c.command);
      assert.ok(contributed.includes('questLens.showGpuInfo') && contributed.includes('questLens.showLog'), `contributed: ${contributed}`);
      const registered = new Set(await vscode.commands.getCommands(true));
      const missing = contributed.filter((c) => !registered.has(c));
      assert.deepEqual(missing, [], `contributed but not registered after activation: ${missing.join(', ')}`);
    },
  },
  {
    name: 'every contributed setting has its documented default',
    async run() {
      const properties = extension().packageJSON.contributes.configuration.properties as Record<string, { default: unknown }>;
      const config = vscode.workspace.getConfiguration();
      for (const [key, expected] of Object.entries(expectedDefaults)) {
        assert.ok(key in properties, `${key} is not contributed by package.json`);
        assert.deepEqual(config.inspect(key)?.defaultValue, expected, `${key}: VS Code's default`);
        assert.deepEqual(config.get(key), expected, `${key}: the effective value in a profile that sets nothing`);
      }
      for (const [key, p] of Object.entries(properties)) {
        assert.deepEqual(config.inspect(key)?.defaultValue, p.default, `${key}: VS Code's default differs from package.json's`);
      }
    },
  },
  {
    name: 'Show GPU Info forks the engine process, which opens WebGPU and reports the adapter to the log',
    timeoutMs: 60_000,
    async run() {
      await vscode.commands.executeCommand('questLens.showGpuInfo');
      const engines = engineProcesses();
      assert.equal(engines.length, 1, `engine processes under the extension host ${process.pid}: [${engines.join(', ')}]`);
      const log = questLensLog();
      assert.match(log, /GPU: .+; features /, `the Quest Lens log has no GPU line:\n${log}`);
      assert.doesNotMatch(log, /GPU info failed/, `the Quest Lens log reports a failure:\n${log}`);
    },
  },
  {
    name: 'a killed engine process is replaced by a fresh one on the next request',
    timeoutMs: 60_000,
    async run() {
      const [before] = engineProcesses();
      assert.ok(before, 'no engine process is running (the previous test starts one)');
      process.kill(before, 'SIGKILL');
      await waitFor(() => !engineProcesses().includes(before), 10_000, `engine process ${before} to exit`);
      await waitFor(() => /killed by SIGKILL/.test(questLensLog()), 10_000, 'the log to report the engine exit');
      await vscode.commands.executeCommand('questLens.showGpuInfo');
      const after = engineProcesses();
      assert.equal(after.length, 1, `engine processes after the restart: [${after.join(', ')}]`);
      assert.notEqual(after[0], before, 'the engine process was not restarted');
      assert.equal(questLensLog().match(/GPU: /g)?.length, 2, 'the restarted engine did not report the adapter');
    },
  },
  ...extensionTests({ engineProcesses, questLensLog, waitFor }),
];

function extension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(extensionId);
  assert.ok(ext, `extension ${extensionId} is not loaded`);
  return ext;
}

/** Children of this extension host that run `dist/cli.js serve` (Linux /proc). */
export function engineProcesses(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith(join('dist', 'cli.js'))) && argv.includes('serve')) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

/** The Quest Lens log channel's file, found under VS Code's logs folder (the profile's user-data/logs). */
export function questLensLog(): string {
  const logs = process.env.QUEST_LENS_VSCODE_LOGS;
  assert.ok(logs && existsSync(logs), `QUEST_LENS_VSCODE_LOGS (${logs}) should name VS Code's logs folder`);
  const files = (readdirSync(logs, { recursive: true }) as string[]).filter((f) => f.endsWith('Quest Lens.log'));
  assert.equal(files.length, 1, `Quest Lens log files under ${logs}: [${files.join(', ')}]`);
  return readFileSync(join(logs, files[0]), 'utf8');
}

export async function waitFor(ok: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
