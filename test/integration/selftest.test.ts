// `npm run selftest` runs `quest-lens selftest`: it must pass on this machine's adapter.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';

test('quest-lens selftest passes: Quest with every page equals dense, small budgets read pageBudget pages', () => {
  const cli = resolve('dist/cli.js');
  assert.ok(existsSync(cli), `${cli} is missing: run \`node build.mjs\` first`);
  const r = spawnSync(process.execPath, [cli, 'selftest'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `selftest exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr.slice(-2000)}`);
  assert.match(r.stdout, /quest = dense {2}yes/);
  assert.match(r.stdout, /every sparse step read 4 pages per KV head, the last page included/);
});
