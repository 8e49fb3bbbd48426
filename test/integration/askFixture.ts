// Test helper (not a test) for the ask pipeline tests: the fixture workspace copied to a temp folder with fixed
// mtimes (so the context order is the path order on every machine), the real model, the built CLI, and checks that
// a citation points at real lines of a real file.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecodeSettings, ReaderSettings } from '../../gpu/protocol';
import { repoRoot, sharedModelPath } from '../util/paths';

export const fixture = join(repoRoot, 'test', 'fixtures', 'workspaces', 'ask');
export const stories = sharedModelPath('stories260K.gguf');

/** dist/cli.js; fails loudly when it was not built. */
export function builtCli(): string {
  const cli = join(repoRoot, 'dist', 'cli.js');
  assert.ok(existsSync(cli), `${cli} is missing: run \`node build.mjs\` first (these tests run the built CLI)`);
  return cli;
}

/** 2020-01-01T00:00:00Z: every fixture file gets this mtime, so the context order is the path order. */
export const fixedMtime = 1577836800;

/** A temp folder holding a copy of the fixture as `<tmp>/ask`; returns that workspace folder. */
export function workspaceCopy(prefix = 'ql-ask-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const ws = join(root, 'ask');
  cpSync(fixture, ws, { recursive: true });
  setMtimes(ws, fixedMtime);
  return ws;
}

function setMtimes(dir: string, seconds: number): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) setMtimes(p, seconds);
    else if (e.isFile()) utimesSync(p, seconds, seconds);
  }
}

export const readerSettings: ReaderSettings = {
  include: [],
  exclude: [],
  filesExclude: {},
  searchExclude: {},
  useGitignore: true,
  maxFileBytes: 1 << 20,
};

export function decodeSettings(over: Partial<DecodeSettings> = {}): DecodeSettings {
  return { mode: 'quest', tokenBudget: 64, denseLayers: 2, aggregation: 'max', temperature: 0, maxAnswerTokens: 24, seed: 0, ...over };
}

/** Asserts that lines line..endLine exist in `file` (a path inside workspace folder `ws`) and returns them. */
export function citedLines(ws: string, file: string, line: number, endLine: number): string[] {
  const path = join(ws, file);
  assert.ok(existsSync(path) && statSync(path).isFile(), `cited file ${path} does not exist`);
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  assert.ok(Number.isInteger(line) && line >= 1 && endLine >= line && endLine <= lines.length, `${file}:${line}-${endLine} is outside its ${lines.length} lines`);
  return lines.slice(line - 1, endLine);
}
