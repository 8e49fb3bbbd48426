// In-host integration tests: the workbench runs inHost/tests.ts inside the real extension host of a code-server
// session (extensionTestsPath through the smoke-test driver, vscode-host.md §4), next to the extension unpacked from
// the VSIX. Each in-host test is reported here as one node:test case.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startVscode, type VscodeSession } from './harness';
import { modelEnv, sharedModel } from './host/models';
import { repoRoot } from './host/setup';
import { type InHostResult, resultsEnv } from './inHost/result';

let vscode: VscodeSession | undefined;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quest-lens-in-host-'));
  // The workbench require()s this file inside the extension host: one CommonJS bundle, `vscode` left to the host.
  const esbuild = join(repoRoot(), 'node_modules', 'esbuild', 'bin', 'esbuild');
  execFileSync(esbuild, [
    join(repoRoot(), 'test', 'e2e', 'inHost', 'index.ts'),
    '--bundle',
    '--platform=node',
    '--format=cjs',
    '--target=node20',
    '--external:vscode',
    `--outfile=${join(dir, 'index.js')}`,
    '--log-level=warning',
  ]);
  vscode = await startVscode({
    name: 'in-host',
    extensionTests: join(dir, 'index.js'),
    env: { [resultsEnv]: join(dir, 'results.json'), [modelEnv]: sharedModel('stories260K.gguf') },
  });
}, { timeout: 180_000 });

after(async () => {
  await vscode?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

test('in the extension host', async (t) => {
  const session = vscode!;
  // The model tests load stories260K on a software adapter (lavapipe): a prefill of the fixture takes ≈ 6 s.
  const limit = 480_000;
  const code = await Promise.race([session.exitCode, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), limit).unref())]);
  await session.workbench.screenshot('done');
  const resultsFile = join(dir, 'results.json');
  const logTail = () => session.log.filter((l) => !l.includes('getaddrinfo')).slice(-30).join('\n');
  assert.ok(existsSync(resultsFile), `the in-host runner wrote no results (exit: ${code}); workbench log tail:\n${logTail()}`);
  const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as InHostResult[];
  for (const r of results) {
    await t.test(r.name, (st) => {
      st.diagnostic(`${r.ms} ms inside the extension host`);
      if (!r.ok) throw new Error(`failed inside the extension host after ${r.ms} ms:\n${r.error}`);
    });
  }
  assert.notEqual(code, 'timeout', `the in-host run did not finish within ${limit / 1000} s; workbench log tail:\n${logTail()}`);
  assert.equal(code, results.every((r) => r.ok) ? 0 : 1, 'the workbench exit code disagrees with the results');
});
