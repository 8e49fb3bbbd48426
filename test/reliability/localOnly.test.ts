// Local only: the extension's side (EngineClient, as the chat view drives it) and the engine process load a real model
// (stories260K), read and pack a workspace, prefill it, answer a question and shut down without one network
// connection. Checked twice, in a driver process started under strace (every socket, connect, bind, sendto and
// sendmsg of the driver and the engine process it forks; an AF_INET or AF_INET6 socket of any kind fails the test)
// and with a preload in both processes that records every call into net, tls, dns, http(s), http2, dgram, fetch and
// WebSocket. Both checks first catch a control run that does open a connection, so they can fail.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { EngineClient } from '../../extension/engineClient';
import { builtCli, decodeSettings, readerSettings, stories, workspaceCopy } from '../integration/askFixture';

const DRIVER_ENV = 'QUEST_LENS_LOCAL_ONLY_DRIVER';
const GUARD_LOG_ENV = 'QUEST_LENS_NET_GUARD_LOG';

/**
 * Preloaded with --require into every Node process of a run: records each network call (one JSON line per call),
 * then lets it go on, so that strace sees the same call.
 */
const GUARD = String.raw`
const fs = require('node:fs');
const log = process.env.${GUARD_LOG_ENV};
const record = (api, detail) => fs.appendFileSync(log, JSON.stringify({ pid: process.pid, api, detail: String(detail).slice(0, 200) }) + '\n');
const wrap = (obj, name, api) => {
  const original = obj && obj[name];
  if (typeof original !== 'function') return;
  obj[name] = function (...args) {
    record(api, JSON.stringify(args[0] ?? null));
    return original.apply(this, args);
  };
};
const net = require('node:net');
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const o = Array.isArray(args[0]) ? args[0][0] : args[0];
  const path = typeof o === 'string' ? o : o && o.path;
  // A unix socket path is local; anything else is a network connection.
  record(path !== undefined && Number.isNaN(Number(path)) ? 'net.connect(unix)' : 'net.Socket.connect', JSON.stringify(o));
  return connect.apply(this, args);
};
wrap(net.Server.prototype, 'listen', 'net.Server.listen');
wrap(require('node:tls'), 'connect', 'tls.connect');
for (const mod of ['node:http', 'node:https']) { wrap(require(mod), 'request', mod + '.request'); wrap(require(mod), 'get', mod + '.get'); }
wrap(require('node:http2'), 'connect', 'http2.connect');
wrap(require('node:dgram'), 'createSocket', 'dgram.createSocket');
const dns = require('node:dns');
for (const name of Object.keys(dns)) if (/^(lookup|resolve)/.test(name)) wrap(dns, name, 'dns.' + name);
for (const name of Object.keys(dns.promises)) if (/^(lookup|resolve)/.test(name)) wrap(dns.promises, name, 'dns.promises.' + name);
for (const name of Object.getOwnPropertyNames(dns.Resolver.prototype)) if (/^resolve/.test(name)) wrap(dns.Resolver.prototype, name, 'dns.Resolver.' + name);
wrap(globalThis, 'fetch', 'fetch');
wrap(globalThis, 'WebSocket', 'WebSocket');
`;

/** The driver: what the extension does for one question, through the real engine process. */
async function askOnce(): Promise<void> {
  const ws = workspaceCopy('ql-local-');
  const engine = new EngineClient(builtCli(), { info() {}, warn: (m) => console.error(m), error: (m) => console.error(m) }, () => {});
  try {
    await engine.request({ type: 'model/load', path: stories, maxContext: 2048, pageSize: 16 });
    await engine.request({ type: 'context/build', folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '', kvCacheDir: join(dirname(ws), 'kv') });
    await engine.request({ type: 'context/prefill' });
    const answer = await engine.request({ type: 'answer/generate', question: 'Where is cartTotal defined?', decode: decodeSettings() });
    await engine.request({ type: 'gpu/describe' });
    process.stdout.write(JSON.stringify({ tokens: answer.trace.steps.length, citations: answer.citations.length }));
  } finally {
    engine.dispose();
    rmSync(dirname(ws), { recursive: true, force: true });
  }
}

/** The control: calls the checks must catch (port 9 on the loopback: refused, nothing leaves the machine). */
async function reachOut(): Promise<void> {
  const net = await import('node:net');
  await new Promise<void>((resolve) => net.connect(9, '127.0.0.1').on('error', () => resolve()).on('connect', () => resolve()));
  await fetch('http://127.0.0.1:9/').catch(() => {});
  process.stdout.write('{}');
}

interface Run {
  readonly stdout: string;
  /** strace lines about AF_INET / AF_INET6 sockets. */
  readonly inet: string[];
  /** Every network syscall strace saw (for the report). */
  readonly syscalls: number;
  readonly guarded: { api: string; detail: string; pid: number }[];
  readonly pids: number;
}

/** Runs this file as a driver in `mode` under strace with the guard preloaded. */
function traced(mode: 'ask' | 'control', dir: string): Run {
  const straceLog = join(dir, `${mode}.strace`);
  const guardLog = join(dir, `${mode}.guard`);
  const guard = join(dir, 'guard.cjs');
  writeFileSync(guard, GUARD);
  writeFileSync(guardLog, '');
  const r = spawnSync(
    'strace',
    ['-f', '-qq', '--seccomp-bpf', '-e', 'trace=%network', '-o', straceLog, process.execPath, '--enable-source-maps', __filename],
    {
      env: { ...process.env, [DRIVER_ENV]: mode, [GUARD_LOG_ENV]: guardLog, NODE_OPTIONS: `--require ${guard}` },
      encoding: 'utf8',
      timeout: 240_000,
    },
  );
  if (r.error) throw new Error(`strace could not run (${r.error.message}): the local-only test needs it, \`apt-get install strace\``);
  assert.equal(r.status, 0, `the ${mode} driver failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  const lines = readFileSync(straceLog, 'utf8').split('\n').filter(Boolean);
  return {
    stdout: r.stdout,
    inet: lines.filter((l) => /AF_INET6?\b|AF_PACKET/.test(l)),
    syscalls: lines.filter((l) => /^\d+ \w+\(/.test(l)).length,
    guarded: readFileSync(guardLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Run['guarded'][number]),
    pids: new Set(lines.map((l) => l.split(' ')[0])).size,
  };
}

if (process.env[DRIVER_ENV]) {
  (process.env[DRIVER_ENV] === 'ask' ? askOnce() : reachOut()).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
} else {
  const dir = mkdtempSync(join(tmpdir(), 'ql-local-only-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the checks catch a process that does open connections', () => {
    assert.ok(existsSync('/usr/bin/strace') || spawnSync('strace', ['-V']).status === 0, 'the local-only test needs strace: `apt-get install strace`');
    const control = traced('control', dir);
    assert.ok(control.inet.some((l) => /connect\(.*AF_INET.*htons\(9\)/.test(l)), `strace saw the TCP connect:\n${control.inet.join('\n')}`);
    assert.deepEqual([...new Set(control.guarded.map((g) => g.api))].sort(), ['fetch', 'net.Socket.connect']);
  });

  test('load, read, prefill, answer and shutdown open no network connection, in the extension side or the engine', () => {
    const run = traced('ask', dir);
    const answer = JSON.parse(run.stdout) as { tokens: number; citations: number };
    assert.equal(answer.tokens, 24, 'the question was answered');
    assert.ok(run.pids >= 2, `strace followed the driver and the engine process (${run.pids} processes)`);
    assert.deepEqual(run.inet, [], 'no AF_INET/AF_INET6 socket');
    assert.deepEqual(run.guarded.filter((g) => g.api !== 'net.connect(unix)'), [], 'no network call from JavaScript');
    console.log(
      `# ${run.pids} processes, ${run.syscalls} network-family syscalls (all local: IPC socket pairs and the like), ` +
        `${run.guarded.length} unix-socket connects, 0 AF_INET/AF_INET6 sockets, 0 network calls`,
    );
  });
}
