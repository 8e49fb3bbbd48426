// Hostile workspaces for the reader's fuzz test, made at run time in a temp folder: seeded random trees of source
// files mixed with binaries, invalid UTF-8, UTF-16, huge single lines, files at and over the size cap, odd names
// (control characters, spaces, 255-byte names), .gitignore files with random rules, skipped folders, deep nesting,
// symlinks (inside, outside, broken, to themselves, to an ancestor folder) and named pipes; and chaosFs, a ReaderFs
// that changes the tree while the reader walks and reads it (a file deleted, truncated, grown past the cap, replaced
// by a pipe, a folder or a link loop; a folder removed; a file created) at seeded moments.
import { execFileSync } from 'node:child_process';
import { appendFileSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { nodeReaderFs, type ReaderFs } from '../../extension/context/readerFs';
import { rng } from '../util/random';

export interface Rand {
  next(): number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
}

export function rand(seed: number): Rand {
  const next = rng(seed);
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] };
}

const WORDS = ['total', 'cart', 'page', 'score', 'token', 'cache', 'index', 'value', 'limit', 'entry', 'state'];

function source(r: Rand, lines: number): string {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const a = r.pick(WORDS);
    out.push(r.next() < 0.1 ? '' : `export function ${a}${i}(x: number): number { return x * ${r.int(100)}; } // ${r.pick(WORDS)}`);
  }
  return out.join(r.next() < 0.1 ? '\r\n' : '\n') + (r.next() < 0.8 ? '\n' : '');
}

/** One file's bytes of a random kind. */
function fileBytes(r: Rand, cap: number): { name: string; bytes: Uint8Array | string } {
  const kind = r.int(20);
  const ext = r.pick(['ts', 'py', 'md', 'js', 'txt', 'json', 'rs', '']);
  const name = `${r.pick(WORDS)}${r.int(1000)}${ext ? `.${ext}` : ''}`;
  switch (kind) {
    case 0: // binary: NUL bytes early
      return { name, bytes: Uint8Array.from({ length: 64 + r.int(4096) }, () => r.int(256) & (r.next() < 0.3 ? 0 : 0xff)) };
    case 1: // Latin-1 bytes: invalid UTF-8
      return { name, bytes: Buffer.from(source(r, 5 + r.int(20)).replace(/e/g, 'é'), 'latin1') };
    case 2: // UTF-16 with a byte-order mark
      return { name, bytes: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(source(r, 5), 'utf16le')]) };
    case 3: // one huge line (minified-looking)
      return { name: `bundle${r.int(100)}.js`, bytes: `var a=[${Array.from({ length: 4000 + r.int(8000) }, (_, i) => i).join(',')}];\n` };
    case 4: // at, or just over, the size cap
      return { name, bytes: Buffer.alloc(cap + (r.next() < 0.5 ? 0 : 1 + r.int(100)), 0x61) };
    case 5:
      return { name, bytes: '' };
    case 6: // skipped by name
      return { name: r.pick(['package-lock.json', 'yarn.lock', 'logo.png', 'app.min.js', 'x.map', 'model.gguf']), bytes: 'not read\n' };
    case 7: // odd names
      return {
        name: r.pick([`tab\tname${r.int(99)}.ts`, `new\nline${r.int(99)}.ts`, `spa ce ${r.int(99)}.ts`, `-rf${r.int(99)}`, `ünï${r.int(99)}.ts`, `${'n'.repeat(250)}${r.int(99)}.ts`, `<script>${r.int(99)}.ts`]),
        bytes: source(r, 3),
      };
    case 8: // invalid UTF-8 sequences and a stray BOM in the middle
      return { name, bytes: Buffer.concat([Buffer.from(source(r, 3)), Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xef, 0xbb, 0xbf, 0xf5]), Buffer.from('\n')]) };
    default:
      return { name, bytes: source(r, 1 + r.int(60)) };
  }
}

/** Writes a random tree of about `size` entries under `root`; `outside` is a file outside it for links to point at. */
export function makeRandomTree(root: string, seed: number, size: number, cap: number, outside: string): void {
  const r = rand(seed);
  const dirs = [root];
  mkdirSync(root, { recursive: true });
  // A deep chain: nesting well past anything real.
  let deep = root;
  for (let d = 0, depth = 20 + r.int(60); d < depth; d++) {
    deep = join(deep, `level${d}`);
    mkdirSync(deep);
    if (d % 7 === 0) dirs.push(deep);
  }
  writeFileSync(join(deep, 'bottom.ts'), 'export const bottom = true;\n');
  for (let i = 0; i < size; i++) {
    const dir = r.pick(dirs);
    const roll = r.int(100);
    try {
      if (roll < 12) {
        const name = r.pick([...WORDS, 'node_modules', '.git', 'dist', 'src', 'lib', 'vendor']);
        const sub = join(dir, `${name}${name === 'node_modules' || name === '.git' || name === 'dist' ? '' : r.int(50)}`);
        mkdirSync(sub, { recursive: true });
        dirs.push(sub);
      } else if (roll < 16) {
        const patterns = ['*.js', '!keep.js', 'build/', '/anchored.ts', '**/gen/**', '*', '!*/', '#comment', '\\#hash', 'a[b-', '*.ts\r', ''];
        writeFileSync(join(dir, '.gitignore'), Array.from({ length: 1 + r.int(4) }, () => r.pick(patterns)).join('\n'));
      } else if (roll < 24) {
        const target = r.pick([
          '.', '..', 'missing.ts', outside, basename(dir), `link${i}`, // to its folder, a parent, nothing, outside, a loop
          relative(dir, join(root, r.pick(readdirSync(root)))) || '.', // something at the root
        ]);
        symlinkSync(target, join(dir, `link${i}`));
      } else if (roll < 26) {
        execFileSync('mkfifo', [join(dir, `pipe${i}`)]);
      } else {
        const f = fileBytes(r, cap);
        writeFileSync(join(dir, f.name), f.bytes);
      }
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') throw e;
    }
  }
}

/** Every entry under `root` that is not a folder (files, links, pipes), as paths relative to it, forward slashes. */
export function listLeaves(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(relative(root, p).split('\\').join('/'));
    }
  };
  walk(root);
  return out.sort();
}

export type Mutation = 'delete' | 'truncate' | 'grow' | 'fifo' | 'folder' | 'loop' | 'binary' | 'create' | 'remove-folder';

/**
 * A ReaderFs over the real one that, before some calls (seeded, about `rate` of them), changes the entry the call is
 * about (or its folder) in one of the ways above, never removing `root`. `touched` collects every path (absolute) a change affected: what is
 * at or under it may have changed or vanished; everything else is as it was.
 */
export function chaosFs(root: string, seed: number, rate: number, cap: number): ReaderFs & { readonly touched: Set<string>; readonly log: string[] } {
  const r = rand(seed);
  const touched = new Set<string>();
  const log: string[] = [];
  const mutate = (path: string) => {
    if (r.next() >= rate) return;
    const what = r.pick<Mutation>(['delete', 'truncate', 'grow', 'fifo', 'folder', 'loop', 'binary', 'create', 'remove-folder']);
    try {
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (!st) return;
      const target = what === 'create' || what === 'remove-folder' ? (st.isDirectory() ? path : dirname(path)) : path;
      if (st.isDirectory() && !['create', 'remove-folder'].includes(what)) return;
      if (what === 'remove-folder' && target === root) return; // a workspace folder that vanishes is an error, by design
      switch (what) {
        case 'delete':
          rmSync(target, { force: true });
          break;
        case 'truncate':
          if (st.isFile()) writeFileSync(target, '');
          break;
        case 'grow':
          if (st.isFile()) appendFileSync(target, Buffer.alloc(cap + 1, 0x62));
          break;
        case 'fifo':
          rmSync(target, { force: true });
          execFileSync('mkfifo', [target]);
          break;
        case 'folder':
          rmSync(target, { force: true });
          mkdirSync(target);
          writeFileSync(join(target, 'inside.ts'), 'export const inside = 1;\n');
          break;
        case 'loop':
          rmSync(target, { force: true });
          symlinkSync(basename(target), target);
          break;
        case 'binary':
          if (st.isFile()) writeFileSync(target, Buffer.alloc(100));
          break;
        case 'create': {
          const created = join(target, `created${r.int(1e6)}.ts`);
          writeFileSync(created, 'export const created = 1;\n');
          touched.add(created);
          log.push(`create ${created}`);
          return;
        }
        case 'remove-folder':
          rmSync(target, { recursive: true, force: true });
          break;
      }
      touched.add(target);
      log.push(`${what} ${target}`);
    } catch (e) {
      // The entry went away under another change: nothing to do.
      if (!['ENOENT', 'ENOTDIR', 'EEXIST'].includes((e as { code?: string }).code ?? '')) throw e;
    }
  };
  return {
    touched,
    log,
    readdir: async (dir) => (mutate(dir), nodeReaderFs.readdir(dir)),
    lstat: async (path) => (mutate(path), nodeReaderFs.lstat(path)),
    stat: async (path) => (mutate(path), nodeReaderFs.stat(path)),
    realpath: async (path) => nodeReaderFs.realpath(path),
    readFile: async (path, maxBytes) => (mutate(path), nodeReaderFs.readFile(path, maxBytes)),
  };
}
