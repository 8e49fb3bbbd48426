// Reads an npm package tarball (.tgz) into memory: gzip, then the tar records (POSIX ustar, pax `path` records, GNU
// long names). Only regular files are kept; the leading folder every npm tarball has (`package/`, sometimes another
// name) is removed. Paths that climb out (`..`) or are absolute are refused: the tarballs come from the registry and
// are not trusted. Links and other record types are listed as skipped.
import { gunzipSync } from 'node:zlib';

export interface TarFile {
  /** Path inside the package, forward slashes, no leading folder. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

export interface TarContents {
  readonly files: TarFile[];
  /** Records that are not regular files (links, devices) or had unsafe paths, with why. */
  readonly skipped: { readonly path: string; readonly reason: string }[];
}

export class TarballError extends Error {
  constructor(
    readonly source: string,
    problem: string,
  ) {
    super(`tarball ${source}: ${problem}`);
    this.name = 'TarballError';
  }
}

const BLOCK = 512;
const utf8 = new TextDecoder('utf-8');

function field(h: Uint8Array, off: number, len: number): string {
  const end = h.subarray(off, off + len).indexOf(0);
  return utf8.decode(h.subarray(off, end < 0 ? off + len : off + end));
}

function octal(h: Uint8Array, off: number, len: number, source: string): number {
  // Base-256 (GNU) sizes start with 0x80; npm never writes files that large.
  if (h[off] & 0x80) throw new TarballError(source, 'base-256 size fields are not supported');
  const s = field(h, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarballError(source, `bad octal field '${s}'`);
  return parseInt(s, 8);
}

/** Parses pax records `<len> key=value\n` and returns the `path` one, if any. */
function paxPath(body: Uint8Array): string | undefined {
  const text = utf8.decode(body);
  let at = 0;
  let path: string | undefined;
  while (at < text.length) {
    const space = text.indexOf(' ', at);
    if (space < 0) break;
    const len = parseInt(text.slice(at, space), 10);
    if (!(len > 0)) break;
    const record = text.slice(space + 1, at + len - 1);
    if (record.startsWith('path=')) path = record.slice(5);
    at += len;
  }
  return path;
}

/** Removes the tarball's leading folder; undefined when the path is unsafe or names the folder itself. */
export function packagePath(name: string): string | undefined {
  const parts = name.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (name.startsWith('/') || parts.some((p) => p === '..')) return undefined;
  if (parts.length < 2) return undefined;
  return parts.slice(1).join('/');
}

/** Every regular file of a .tgz. `source` names the tarball in errors. */
export function readTarball(gz: Uint8Array, source: string): TarContents {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(gz);
  } catch (e) {
    throw new TarballError(source, `gunzip failed: ${(e as Error).message}`);
  }
  const files: TarFile[] = [];
  const skipped: { path: string; reason: string }[] = [];
  let longName: string | undefined;
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const h = tar.subarray(at, at + BLOCK);
    if (h.every((b) => b === 0)) break; // end of archive
    const size = octal(h, 124, 12, source);
    const type = String.fromCharCode(h[156] || 0x30);
    const prefix = field(h, 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = undefined;
    const bodyStart = at + BLOCK;
    const bodyEnd = bodyStart + size;
    if (bodyEnd > tar.length) throw new TarballError(source, `record '${name}' needs ${size} bytes, the archive ends ${tar.length - bodyStart} bytes later`);
    const body = tar.subarray(bodyStart, bodyEnd);
    at = bodyStart + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x') {
      longName = paxPath(body);
      continue;
    }
    if (type === 'L') {
      longName = utf8.decode(body).replace(/\0+$/, '');
      continue;
    }
    if (type === 'g' || type === '5') continue; // global pax header, folder
    if (type !== '0' && type !== '7') {
      skipped.push({ path: name, reason: `tar record type '${type}' (not a regular file)` });
      continue;
    }
    const path = packagePath(name);
    if (path === undefined) {
      skipped.push({ path: name, reason: 'unsafe or top-level path' });
      continue;
    }
    name = path;
    files.push({ path: name, bytes: Uint8Array.from(body) });
  }
  return { files, skipped };
}
