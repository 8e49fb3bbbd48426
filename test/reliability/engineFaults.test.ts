// Faults in the engine process, through the extension's EngineClient with the real model (stories260K) on the real
// adapter: the process killed in the middle of a prefill and in the middle of an answer, and its GPU device lost
// (destroyed behind its back through the QUEST_LENS_FAULTS hook in gpu/serve.ts) while idle, during a prefill and
// during an answer. After each, the next question works and answers exactly as before; the persisted context is
// reused whole or rebuilt, never loaded damaged; a killed engine is restarted, a lost device is replaced in the same
// process, which says so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { type DeviceRecovered, EngineClient, EngineExitedError, EngineRequestError } from '../../extension/engineClient';
import type { DecodeSettings } from '../../gpu/protocol';
import { builtCli, decodeSettings, readerSettings, stories, workspaceCopy } from '../integration/askFixture';

// The engine process inherits this: SIGUSR2 then destroys its GPU device.
process.env.QUEST_LENS_FAULTS = 'device-loss';

const cli = builtCli();
const ws = workspaceCopy('ql-faults-');
const cacheRoot = mkdtempSync(join(tmpdir(), 'ql-faults-kv-'));
const logs: string[] = [];
const exits: EngineExitedError[] = [];
const recovered: DeviceRecovered[] = [];
const engine = new EngineClient(
  cli,
  { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`), error: (m) => logs.push(`error ${m}`) },
  (e) => exits.push(e),
);
engine.onDidRecoverDevice((r) => recovered.push(r));
after(() => {
  engine.dispose();
  rmSync(cacheRoot, { recursive: true, force: true });
  rmSync(dirname(ws), { recursive: true, force: true });
});

const question = 'Where is cartTotal defined?';
let kvCacheDir = join(cacheRoot, 'kv0');

async function prepare(onPrefillChunk?: () => void) {
  await engine.request({ type: 'model/load', path: stories, maxContext: 2048, pageSize: 16 });
  await engine.request({ type: 'context/build', folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '', kvCacheDir });
  return engine.request({ type: 'context/prefill' }, onPrefillChunk ? { onChunk: onPrefillChunk } : {});
}

async function answer(decode: DecodeSettings = decodeSettings(), onToken?: () => void): Promise<number[]> {
  const r = await engine.request({ type: 'answer/generate', question, decode }, onToken ? { onChunk: onToken } : {});
  return r.trace.steps.map((s) => s.token);
}

async function until(ok: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function kill(): void {
  process.kill(engine.pid!, 'SIGKILL');
}

function loseDevice(): void {
  process.kill(engine.pid!, 'SIGUSR2');
}

test('killed mid-prefill and mid-answer, or its GPU lost idle, mid-prefill and mid-answer: the next question answers as before', async (t) => {
  // What the engine said, printed only when the test fails.
  t.after(() => {
    if (failed) console.log(`# the engine's log:\n${logs.slice(-60).map((l) => `#   ${l}`).join('\n')}`);
  });
  let failed = true;
  // The reference: a prefill from nothing, persisted, then an answer.
  const first = await prepare();
  assert.deepEqual([first.reused, first.source], [0, 'none']);
  const reference = await answer();
  assert.equal(reference.length, 24);
  const tokens = first.tokens;

  // Killed in the middle of a prefill into an empty cache folder (nothing persisted for it yet).
  kvCacheDir = join(cacheRoot, 'kv1');
  await engine.request({ type: 'context/clear' });
  const pid1 = engine.pid;
  await assert.rejects(
    prepare(() => kill()),
    (e: unknown) => e instanceof EngineExitedError && /killed by SIGKILL/.test(e.message),
  );
  await until(() => exits.length === 1, 'the exit is reported');
  const afterPrefillKill = await prepare();
  assert.notEqual(engine.pid, pid1, 'a fresh engine process');
  assert.equal(afterPrefillKill.tokens, tokens);
  assert.deepEqual([afterPrefillKill.reused, afterPrefillKill.source], [0, 'none'], 'nothing was persisted by the killed prefill: rebuilt');
  assert.deepEqual(await answer(), reference, 'after a kill mid-prefill');

  // Killed in the middle of an answer: the persisted context is reused whole.
  await assert.rejects(
    answer(decodeSettings({ maxAnswerTokens: 400 }), () => kill()),
    (e: unknown) => e instanceof EngineExitedError,
  );
  await until(() => exits.length === 2, 'the exit is reported');
  const afterAnswerKill = await prepare();
  assert.deepEqual([afterAnswerKill.reused, afterAnswerKill.source], [tokens, 'disk'], 'the persisted context, whole');
  assert.deepEqual(await answer(), reference, 'after a kill mid-answer');

  // The GPU device lost while the engine is idle: replaced in the same process, which says so.
  const pid = engine.pid;
  loseDevice();
  await until(() => recovered.length === 1, 'gpu/didRecover');
  assert.equal(recovered[0].reason, 'destroyed');
  assert.ok(recovered[0].adapter.description.length > 0);
  const afterIdleLoss = await prepare();
  assert.equal(engine.pid, pid, 'the same engine process');
  assert.deepEqual([afterIdleLoss.reused, afterIdleLoss.source], [tokens, 'disk'], 'the model reloaded; the context restored from disk');
  assert.deepEqual(await answer(), reference, 'after a device loss while idle');

  // Lost in the middle of an answer: that request fails with 'device-lost'; the next one works.
  await assert.rejects(
    answer(decodeSettings({ maxAnswerTokens: 400 }), () => loseDevice()),
    (e: unknown) => e instanceof EngineRequestError && e.code === 'device-lost' && /ask again/.test(e.message),
  );
  await until(() => recovered.length === 2, 'gpu/didRecover');
  await prepare();
  assert.deepEqual(await answer(), reference, 'after a device loss mid-answer');

  // Lost in the middle of a prefill (the in-memory context dropped first, so that it prefills).
  kvCacheDir = join(cacheRoot, 'kv2');
  await engine.request({ type: 'context/clear' });
  await assert.rejects(
    prepare(() => loseDevice()),
    (e: unknown) => e instanceof EngineRequestError && e.code === 'device-lost',
  );
  await until(() => recovered.length === 3, 'gpu/didRecover');
  const afterPrefillLoss = await prepare();
  assert.deepEqual([afterPrefillLoss.reused, afterPrefillLoss.source], [0, 'none'], 'rebuilt');
  assert.deepEqual(await answer(), reference, 'after a device loss mid-prefill');

  assert.equal(engine.pid, pid, 'device losses never restarted the process');
  assert.equal(exits.length, 2, 'only the two kills stopped the engine');
  assert.ok(logs.some((l) => /lost its GPU device .* opened a new one/.test(l)), 'the log says the device was replaced');
  assert.ok(!logs.some((l) => /uncaptured|checksum/.test(l)), `no GPU errors, no damaged cache:\n${logs.filter((l) => /uncaptured|checksum/.test(l)).join('\n')}`);
  failed = false;
});
