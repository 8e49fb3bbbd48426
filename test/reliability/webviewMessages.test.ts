// Every message from a webview is checked before the extension acts on it (extension/chat/webviewMessages.ts): each
// message type the protocol has is accepted exactly as the page sends it, and every field of it broken in every way
// (missing, another type, out of range, too long, an extra field) is refused with a reason; so are ten thousand
// seeded random values, hostile paths and ids, and a prototype-polluting payload. What is accepted is a fresh object
// with only the protocol's fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WEBVIEW_MESSAGE_LIMITS, parseFromWebview } from '../../extension/chat/webviewMessages';
import type { FromWebview } from '../../webview/protocol';
import { rng } from '../util/random';

const turnId = '6f1c2a9e-3b7d-4e0a-9c55-0d2b8e7f1a34';
/** One of each message the page sends, with every optional field. */
const VALID: readonly FromWebview[] = [
  { type: 'webview/ready', view: 'chat' },
  { type: 'webview/ready', view: 'heatmap' },
  { type: 'webview/didFail', error: { kind: 'error', code: 'render', message: 'TypeError: x is undefined' } },
  { type: 'chat/ask', question: 'Where is cartTotal defined?' },
  { type: 'chat/ask', question: '' },
  { type: 'chat/stop', turnId },
  { type: 'editor/open', path: 'src/cart.ts', line: 12 },
  { type: 'editor/open', path: 'src/cart.ts', line: 12, endLine: 14, folder: 1 },
  { type: 'clipboard/write', text: 'answer text' },
  { type: 'heatmap/open', turnId, where: 'view' },
  { type: 'heatmap/open', turnId, where: 'beside' },
  { type: 'model/select' },
];

/** Values of the wrong kind for any field. */
const WRONG: readonly unknown[] = [null, true, 0, -1, 1.5, NaN, Infinity, '', 'x'.repeat(5000), [], ['a'], {}, { kind: 'error' }];

function rejected(raw: unknown, why: string): void {
  const r = parseFromWebview(raw);
  assert.ok('problem' in r, `${why}: accepted ${JSON.stringify(raw)?.slice(0, 200)}`);
  assert.ok(r.problem.length > 0 && r.problem.length < 400, `${why}: the reason is short and says something: ${r.problem}`);
}

test('each message the page sends is accepted as a fresh object with only its fields', () => {
  for (const m of VALID) {
    const r = parseFromWebview(structuredClone(m));
    assert.ok('message' in r, `${m.type}: ${'problem' in r ? r.problem : ''}`);
    assert.deepEqual(r.message, m);
  }
  // An optional field the page left undefined is the same as absent.
  const r = parseFromWebview({ type: 'editor/open', path: 'a.ts', line: 3, endLine: undefined, folder: undefined });
  assert.ok('message' in r);
  assert.deepEqual(r.message, { type: 'editor/open', path: 'a.ts', line: 3 });
});

test('every field of every message, missing, of another type, out of range or extra, is refused', () => {
  let cases = 0;
  for (const m of VALID) {
    const base = structuredClone(m) as unknown as Record<string, unknown>;
    for (const key of Object.keys(base)) {
      if (key === 'type') continue;
      const optional = m.type === 'editor/open' && (key === 'endLine' || key === 'folder');
      if (!optional) {
        const { [key]: _dropped, ...without } = base;
        rejected(without, `${m.type} without ${key}`);
        cases++;
      }
      for (const wrong of WRONG) {
        // The few wrong values that are right for this field.
        if (key === 'question' && (wrong === '' || wrong === 'x'.repeat(5000))) continue;
        if (key === 'text' && (wrong === '' || wrong === 'x'.repeat(5000))) continue;
        if (key === 'path' && wrong === 'x'.repeat(5000)) continue; // over the cap: checked below
        if (key === 'folder' && wrong === 0) continue;
        rejected({ ...base, [key]: wrong }, `${m.type}.${key} = ${String(wrong).slice(0, 20)}`);
        cases++;
      }
    }
    rejected({ ...base, extra: 1 }, `${m.type} with an extra field`);
    rejected({ ...base, type: `${m.type}x` }, `${m.type} with a misspelt type`);
    cases += 2;
  }
  // Ranges and caps.
  const L = WEBVIEW_MESSAGE_LIMITS;
  const open = (o: object) => ({ type: 'editor/open', path: 'a.ts', line: 1, ...o });
  for (const [o, why] of [
    [{ line: 0 }, 'line 0'],
    [{ line: L.line + 1 }, 'line past the cap'],
    [{ line: 5, endLine: 4 }, 'endLine before line'],
    [{ folder: -1 }, 'negative folder'],
    [{ folder: L.folders }, 'folder past the cap'],
    [{ path: '' }, 'empty path'],
    [{ path: 'x'.repeat(L.path + 1) }, 'path past the cap'],
    [{ path: 'src/a.ts\0.png' }, 'a NUL in the path'],
  ] as const) {
    rejected(open(o), why);
    cases++;
  }
  rejected({ type: 'chat/ask', question: 'q'.repeat(L.text + 1) }, 'question past the cap');
  rejected({ type: 'clipboard/write', text: 't'.repeat(L.text + 1) }, 'clipboard text past the cap');
  rejected({ type: 'chat/stop', turnId: '../../globalStorage/x' }, 'a path as a turn id');
  rejected({ type: 'heatmap/open', turnId: 'a'.repeat(65), where: 'view' }, 'a turn id past 64 characters');
  rejected({ type: 'webview/didFail', error: { kind: 'error', code: 'c', message: 'm', stack: 'at x' } }, 'an extra field in the error');
  rejected({ type: 'webview/didFail', error: { kind: 'error', code: 'c'.repeat(65), message: 'm' } }, 'an error code past the cap');
  cases += 6;
  console.log(`# ${cases} broken messages refused`);
});

test('a prototype-polluting payload is refused and pollutes nothing', () => {
  const raw = JSON.parse('{"type":"chat/ask","question":"q","__proto__":{"polluted":true}}') as unknown;
  rejected(raw, '__proto__ field');
  const nested = JSON.parse('{"type":"webview/didFail","error":{"kind":"error","code":"c","message":"m","__proto__":{"polluted":true}}}') as unknown;
  rejected(nested, '__proto__ in the error');
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
});

test('ten thousand seeded random values: never a throw, and what is accepted has only protocol fields', () => {
  const next = rng(8);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const types = [...new Set(VALID.map((m) => m.type)), 'chat/didRestore', 'editor/close', '', '__proto__'];
  const keys = ['type', 'view', 'error', 'question', 'turnId', 'path', 'line', 'endLine', 'folder', 'text', 'where', 'kind', 'code', 'message', 'constructor'];
  const value = (depth: number): unknown => {
    switch (Math.floor(next() * 9)) {
      case 0: return pick(types);
      case 1: return pick(['chat', 'heatmap', 'view', 'beside', 'error', turnId, 'src/a.ts', '../x', '']);
      case 2: return Math.floor(next() * 20) - 5;
      case 3: return pick([NaN, Infinity, 1e300, -0, 2.5]);
      case 4: return pick([null, undefined, true, false]);
      case 5: return depth > 2 ? 'deep' : Array.from({ length: Math.floor(next() * 3) }, () => value(depth + 1));
      default: {
        if (depth > 3) return {};
        const o: Record<string, unknown> = {};
        for (let k = Math.floor(next() * 5); k > 0; k--) o[pick(keys)] = value(depth + 1);
        if (next() < 0.7) o.type = pick(types);
        return o;
      }
    }
  };
  const allowed: Record<string, readonly string[]> = {
    'webview/ready': ['type', 'view'],
    'webview/didFail': ['type', 'error'],
    'chat/ask': ['type', 'question'],
    'chat/stop': ['type', 'turnId'],
    'editor/open': ['type', 'path', 'line', 'endLine', 'folder'],
    'clipboard/write': ['type', 'text'],
    'heatmap/open': ['type', 'turnId', 'where'],
    'model/select': ['type'],
  };
  let accepted = 0;
  for (let i = 0; i < 10_000; i++) {
    const raw = value(0);
    const r = parseFromWebview(raw);
    if ('message' in r) {
      accepted++;
      assert.ok(Object.keys(r.message).every((k) => allowed[r.message.type]?.includes(k)), `accepted ${JSON.stringify(raw)}`);
      assert.notEqual(r.message, raw, 'a fresh object');
      assert.deepEqual(parseFromWebview(r.message), r, 'accepting is idempotent');
    }
  }
  console.log(`# 10000 random values: ${accepted} well-formed by chance, the rest refused`);
});
