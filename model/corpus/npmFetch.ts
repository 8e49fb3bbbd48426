// Fetches package tarballs with the ordinary npm client (`npm pack NAME@VERSION --pack-destination DIR`) into a cache
// folder, once: a tarball already there is not fetched again. Build time only; the extension never does this.
// Several packages go into one `npm pack` call; when a call fails (one bad name fails it all) its packages are
// retried one by one, and those that still fail are reported, not fatal.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PackageSpec } from './packageList';

const run = promisify(execFile);

/** The file name npm gives a tarball: `@scope/name@1.0.0` → `scope-name-1.0.0.tgz`. */
export function tarballName(p: PackageSpec): string {
  return `${p.name.replace(/^@/, '').replace('/', '-')}-${p.version}.tgz`;
}

export interface FetchResult {
  /** Tarball path per package name, for those that are in the cache now. */
  readonly paths: Map<string, string>;
  readonly failed: { readonly name: string; readonly version: string; readonly error: string }[];
}

async function npmPack(specs: readonly PackageSpec[], dir: string): Promise<void> {
  await run('npm', ['pack', ...specs.map((s) => `${s.name}@${s.version}`), '--pack-destination', dir, '--silent', '--ignore-scripts'], {
    maxBuffer: 64 << 20,
    timeout: 300_000,
  });
}

/** Fetches the tarballs of `packages` missing from `cacheDir`, `concurrency` npm calls at a time. */
export async function fetchTarballs(
  packages: readonly PackageSpec[],
  cacheDir: string,
  options: { readonly batch?: number; readonly concurrency?: number; readonly onProgress?: (done: number, total: number) => void } = {},
): Promise<FetchResult> {
  const batch = options.batch ?? 16;
  const missing = packages.filter((p) => !existsSync(join(cacheDir, tarballName(p))));
  const failed: FetchResult['failed'][number][] = [];
  const groups: PackageSpec[][] = [];
  for (let i = 0; i < missing.length; i += batch) groups.push(missing.slice(i, i + batch));
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < groups.length) {
      const group = groups[next++];
      try {
        await npmPack(group, cacheDir);
      } catch {
        for (const p of group) {
          if (existsSync(join(cacheDir, tarballName(p)))) continue;
          try {
            await npmPack([p], cacheDir);
          } catch (e) {
            const msg = ((e as { stderr?: string }).stderr ?? (e as Error).message).split('\n').filter((l) => /err/i.test(l)).slice(0, 3).join(' | ');
            failed.push({ ...p, error: msg || (e as Error).message.slice(0, 200) });
          }
        }
      }
      done += group.length;
      options.onProgress?.(done, missing.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  const paths = new Map<string, string>();
  for (const p of packages) {
    const path = join(cacheDir, tarballName(p));
    if (existsSync(path)) paths.set(p.name, path);
    else if (!failed.some((f) => f.name === p.name)) failed.push({ ...p, error: `npm pack wrote no ${tarballName(p)}` });
  }
  return { paths, failed };
}
