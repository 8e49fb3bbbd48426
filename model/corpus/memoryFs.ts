// The extension's ReaderFs over files held in memory (an unpacked tarball), so that a package is walked and packed
// by exactly the extension's collectFiles and packContext, without writing it to disk. Every file has mtime 0: the
// corpus packs in 'path' order, the same on every machine.
import type { FsDirent, FsStats, ReaderFs } from '../../extension/context/readerFs';

interface Node {
  readonly dir: boolean;
  readonly bytes?: Uint8Array;
  readonly children?: Map<string, Node>;
}

function notFound(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: 'ENOENT' });
}

function stats(node: Node): FsStats {
  return {
    size: node.bytes?.length ?? 0,
    mtimeMs: 0,
    isFile: () => !node.dir,
    isDirectory: () => node.dir,
    isSymbolicLink: () => false,
    isFIFO: () => false,
    isSocket: () => false,
    isCharacterDevice: () => false,
    isBlockDevice: () => false,
  };
}

/** A file system holding `files` (paths relative to `root`, forward slashes) under the absolute path `root`. */
export function memoryFs(root: string, files: Iterable<{ readonly path: string; readonly bytes: Uint8Array }>): ReaderFs {
  const top: Node = { dir: true, children: new Map() };
  for (const f of files) {
    const parts = f.path.split('/');
    let node = top;
    for (let i = 0; i < parts.length - 1; i++) {
      let next = node.children!.get(parts[i]);
      if (!next || !next.dir) {
        next = { dir: true, children: new Map() };
        node.children!.set(parts[i], next);
      }
      node = next;
    }
    const leaf = parts[parts.length - 1];
    // A later record for the same path replaces the earlier one (as tar extraction does), unless it is a folder.
    if (!node.children!.get(leaf)?.dir) node.children!.set(leaf, { dir: false, bytes: f.bytes });
  }
  const base = root.replace(/\/+$/, '');
  const lookup = (path: string): Node => {
    if (path !== base && !path.startsWith(`${base}/`)) throw notFound(path);
    let node = top;
    for (const part of path.slice(base.length).split('/').filter((p) => p !== '')) {
      const next = node.children?.get(part);
      if (!next) throw notFound(path);
      node = next;
    }
    return node;
  };
  return {
    readdir: async (dir) => {
      const node = lookup(dir);
      if (!node.dir) throw Object.assign(new Error(`ENOTDIR: '${dir}'`), { code: 'ENOTDIR' });
      return [...node.children!].map(([name, child]): FsDirent => ({
        name,
        isFile: () => !child.dir,
        isDirectory: () => child.dir,
        isSymbolicLink: () => false,
      }));
    },
    lstat: async (path) => stats(lookup(path)),
    stat: async (path) => stats(lookup(path)),
    realpath: async (path) => {
      lookup(path);
      return path;
    },
    readFile: async (path) => {
      const node = lookup(path);
      if (node.dir) throw Object.assign(new Error(`EISDIR: '${path}'`), { code: 'EISDIR' });
      return node.bytes!;
    },
  };
}
