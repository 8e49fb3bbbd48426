// The file-system calls the reader makes, as an interface: tests inject failures (EACCES, EIO) that cannot be caused
// for real when the tests run as root, and the engine process could pass a virtual file system.
import { promises as fsp } from 'node:fs';

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
  readFile(path: string): Promise<Uint8Array>;
}

/** node:fs/promises. */
export const nodeReaderFs: ReaderFs = {
  readdir: (dir) => fsp.readdir(dir, { withFileTypes: true }),
  lstat: (path) => fsp.lstat(path),
  stat: (path) => fsp.stat(path),
  realpath: (path) => fsp.realpath(path),
  readFile: (path) => fsp.readFile(path),
};

/** The errno code of a file-system error ('EACCES', 'ELOOP', …), or the message when there is none. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}
