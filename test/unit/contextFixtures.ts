// Test helper (not a test): workspace trees made in a temp folder at run time, so binaries, huge files, symlink loops
// and .gitignore files never enter the repository (a committed .gitignore would also act on the repository itself).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { FsDirent, FsStats, ReaderFs } from '../../extension/context/readerFs';
import { nodeReaderFs } from '../../extension/context/readerFs';

/** A folder: names to file contents, nested folders, or symlinks. */
export interface TreeSpec {
  readonly [name: string]: string | Uint8Array | TreeSpec | { readonly symlink: string };
}

function isLink(v: unknown): v is { symlink: string } {
  return typeof v === 'object' && v !== null && typeof (v as { symlink?: unknown }).symlink === 'string';
}

/** Writes `spec` under `root` (created if missing). */
export function writeTree(root: string, spec: TreeSpec): void {
  mkdirSync(root, { recursive: true });
  for (const [name, value] of Object.entries(spec)) {
    const path = join(root, name);
    if (typeof value === 'string' || value instanceof Uint8Array) writeFileSync(path, value);
    else if (isLink(value)) symlinkSync(value.symlink, path);
    else writeTree(path, value as TreeSpec);
  }
}

/** A fresh temp folder holding `spec`; remove it with `rmSync(dir, { recursive: true, force: true })`. */
export function makeTree(spec: TreeSpec, prefix = 'ql-context-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeTree(dir, spec);
  return dir;
}

/** Runs `fn` on a temp tree and removes it afterwards. */
export async function withTree<T>(spec: TreeSpec, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = makeTree(spec);
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sets a file's mtime (seconds since the epoch). */
export function setMtime(path: string, seconds: number): void {
  utimesSync(path, seconds, seconds);
}

/** The committed text fixture workspace; fails loudly when the tests do not run from the repository root. */
export function fixtureWorkspace(name: string): string {
  const dir = resolve('test/fixtures/workspaces', name);
  if (!existsSync(dir)) throw new Error(`fixture workspace ${dir} is missing: run the tests from the repository root`);
  return dir;
}

/** A ReaderFs that fails chosen calls with an errno code, to test error paths root cannot hit for real. */
export function failingFs(failures: {
  readonly readdir?: (path: string) => string | undefined;
  readonly readFile?: (path: string) => string | undefined;
  readonly lstat?: (path: string) => string | undefined;
}): ReaderFs {
  const fail = (code: string, path: string) => Object.assign(new Error(`${code}: injected failure, ${path}`), { code });
  return {
    async readdir(path): Promise<readonly FsDirent[]> {
      const code = failures.readdir?.(path);
      if (code) throw fail(code, path);
      return nodeReaderFs.readdir(path);
    },
    async lstat(path): Promise<FsStats> {
      const code = failures.lstat?.(path);
      if (code) throw fail(code, path);
      return nodeReaderFs.lstat(path);
    },
    stat: nodeReaderFs.stat,
    realpath: nodeReaderFs.realpath,
    async readFile(path, maxBytes): Promise<Uint8Array> {
      const code = failures.readFile?.(path);
      if (code) throw fail(code, path);
      return nodeReaderFs.readFile(path, maxBytes);
    },
  };
}

/** A ReaderFs whose every call first waits `ms` milliseconds: makes walks and packs slow enough to abort midway. */
export function slowFs(ms: number): ReaderFs & { calls: number } {
  const wait = () => new Promise<void>((r) => setTimeout(r, ms));
  const fs = {
    calls: 0,
    async readdir(path: string) {
      fs.calls++;
      await wait();
      return nodeReaderFs.readdir(path);
    },
    async lstat(path: string) {
      fs.calls++;
      await wait();
      return nodeReaderFs.lstat(path);
    },
    stat: nodeReaderFs.stat,
    realpath: nodeReaderFs.realpath,
    async readFile(path: string, maxBytes: number) {
      fs.calls++;
      await wait();
      return nodeReaderFs.readFile(path, maxBytes);
    },
  };
  return fs;
}

/** `count` small TypeScript files spread over folders of `perFolder`, for size and cancellation tests. */
export function manyFiles(count: number, perFolder = 50): TreeSpec {
  const spec: Record<string, Record<string, string>> = {};
  for (let i = 0; i < count; i++) {
    const folder = `pkg${String(Math.floor(i / perFolder)).padStart(4, '0')}`;
    spec[folder] ??= {};
    spec[folder][`file${i}.ts`] = `export const value${i} = ${i};\nexport function get${i}(): number {\n  return value${i} * 2;\n}\n`;
  }
  return spec;
}
