// The extension's engine client against the real engine process (dist/cli.js serve) on the real adapter.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { EngineClient, EngineExitedError } from '../../extension/engineClient';

const cli = resolve('dist/cli.js');
const quiet = { info() {}, warn() {}, error() {} };

test('the engine process describes the GPU, and comes back after being killed', async () => {
  assert.ok(existsSync(cli), `${cli} is missing: run \`node build.mjs\` first`);
  const exits: EngineExitedError[] = [];
  const engine = new EngineClient(cli, quiet, (e) => exits.push(e));
  try {
    const first = await engine.request({ type: 'gpu/describe' });
    assert.ok(first.adapter.vendor.length > 0, 'adapter vendor is empty');
    const pid = engine.pid;
    assert.ok(pid);

    // Killed between requests: the exit is reported, the next request starts a fresh process.
    process.kill(pid, 'SIGKILL');
    await waitFor(() => exits.length === 1);
    assert.match(exits[0].message, /killed by SIGKILL/);
    const again = await engine.request({ type: 'gpu/describe' });
    assert.equal(again.adapter.description, first.adapter.description);
    assert.notEqual(engine.pid, pid, 'a new engine process was expected');

    // Killed while a request is in flight (a fresh process spends tens of ms opening the GPU before it can answer):
    // the request fails with a clear error instead of hanging.
    process.kill(engine.pid!, 'SIGKILL');
    await waitFor(() => exits.length === 2);
    const inFlight = engine.request({ type: 'gpu/describe' });
    process.kill(engine.pid!, 'SIGKILL');
    await assert.rejects(inFlight, (e: Error) => e instanceof EngineExitedError && /killed by SIGKILL/.test(e.message));

    // Killed and dead before the client hears of it: a request written to the closed channel fails with the
    // process's own reason (the kill), not the write error that is only its symptom (a race e2e runs hit).
    await engine.request({ type: 'gpu/describe' });
    for (let i = 0; i < 5; i++) {
      const dead = engine.pid!;
      process.kill(dead, 'SIGKILL');
      const until = Date.now() + 150;
      while (Date.now() < until) {
        // Synchronous wait: the process is gone, but its exit is not yet an event here.
      }
      const written = engine.request({ type: 'gpu/describe' });
      await assert.rejects(written, (e: Error) => e instanceof EngineExitedError && /killed by SIGKILL/.test(e.message), `try ${i}`);
      await engine.request({ type: 'gpu/describe' });
    }
  } finally {
    engine.dispose();
  }
});

async function waitFor(ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
