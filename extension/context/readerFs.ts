// The file-system calls the reader makes, as an interface: tests inject failures (EACCES, EIO) that cannot be caused
// for real when the tests run as root, and the engine process could pass a virtual file system.
// Files change while a workspace loads: a file the walk saw as a small regular file may have grown, or been replaced
// by a named pipe (reading one blocks until a writer comes) or a link to a device, by the time it is read. readFile
// therefore checks what it opened, not what the walk saw, and never reads more than it was asked for.
import { constants, promises as fsp } from 'node:fs';

/** The subset of fs.Dirent the walk reads. */
export interface FsDirent {
  readonly name: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

/** The subset of fs.Stats the walk reads. */
export interface FsStats {
  readonly size: number;
  readonly mtimeMs: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}

export interface ReaderFs {
  readdir(dir: string): Promise<readonly FsDirent[]>;
  lstat(path: string): Promise<FsStats>;
  /** Follows symlinks. */
  stat(path: string): Promise<FsStats>;
  realpath(path: string): Promise<string>;
  /**
   * A regular file's bytes, at most `maxBytes` of them: a larger file fails with code 'EFBIG' (and `size`, the bytes
   * seen), anything but a regular file with 'EFTYPE' (and `kind`, e.g. 'a named pipe'). Implementations over data
   * that cannot change may ignore the cap.
   */
  readFile(path: string, maxBytes: number): Promise<Uint8Array>;
}

/** node:fs/promises. */
export const nodeReaderFs: ReaderFs = {
  readdir: (dir) => fsp.readdir(dir, { withFileTypes: true }),
  lstat: (path) => fsp.lstat(path),
  stat: (path) => fsp.stat(path),
  realpath: (path) => fsp.realpath(path),
  readFile: readBounded,
};

/**
 * Opens without blocking (a named pipe with no writer would otherwise hang the open), checks the opened file is a
 * regular one within the cap, then reads until the end or one byte past the cap (it may grow while read).
 */
async function readBounded(path: string, maxBytes: number): Promise<Uint8Array> {
  const fh = await fsp.open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      const kind = st.isFIFO() ? 'a named pipe' : st.isSocket() ? 'a socket' : st.isDirectory() ? 'a folder' : 'a device';
      throw Object.assign(new Error(`${path} is not a regular file (${kind})`), { code: 'EFTYPE', kind });
    }
    const tooBig = (size: number) => Object.assign(new Error(`${path} has ${size} bytes, over the ${maxBytes}-byte cap`), { code: 'EFBIG', size });
    if (st.size > maxBytes) throw tooBig(st.size);
    // (min(size, cap) + 1) bytes: one more than the cap tells a file that grew past it.
    let out = new Uint8Array(Math.min(st.size, maxBytes) + 1);
    let got = 0;
    for (;;) {
      if (got === out.length) {
        if (out.length > maxBytes) throw tooBig(got);
        const bigger = new Uint8Array(Math.min(out.length * 2, maxBytes + 1));
        bigger.set(out);
        out = bigger;
      }
      const { bytesRead } = await fh.read(out, got, out.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got > maxBytes) throw tooBig(got);
    return out.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/** The errno code of a file-system error ('EACCES', 'ELOOP', …), or the message when there is none. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}
