// The committed package list, and how packages are grouped and split into training and held-out sets.
//
// Groups: related packages share code and names, so they are held out together: packages of one npm scope
// (@babel/*), packages whose names share a first word (lodash, lodash-es, lodash.merge; p-limit, p-locate), and
// packages that name the same source repository (a monorepo's packages). Groups are joined transitively.
// Split: a group is held out when a hash of (seed, its first member's name) falls below the held-out fraction, so
// the split is the same on every machine and does not move when packages are added to the list.
import { createHash } from 'node:crypto';

export interface PackageSpec {
  readonly name: string;
  readonly version: string;
}

export class PackageListError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PackageListError';
  }
}

/** Parses `name@version` lines; `#` starts a comment; blank lines are ignored. */
export function parsePackageList(text: string, source = 'package list'): PackageSpec[] {
  const out: PackageSpec[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const at = line.lastIndexOf('@');
    if (at <= 0) throw new PackageListError(`${source}:${i + 1}: '${line}' is not name@version`);
    const name = line.slice(0, at);
    const version = line.slice(at + 1);
    if (!/^(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name) || !/^[\w.+-]+$/.test(version)) {
      throw new PackageListError(`${source}:${i + 1}: '${line}' is not a valid npm name@version`);
    }
    if (seen.has(name)) throw new PackageListError(`${source}:${i + 1}: '${name}' is listed twice`);
    seen.add(name);
    out.push({ name, version });
  });
  return out;
}

/** The name-based group word: the scope of a scoped package, else the name up to its first '.', '-' or '_'. */
export function nameRoot(name: string): string {
  const lower = name.toLowerCase();
  if (lower.startsWith('@')) return lower.slice(0, lower.indexOf('/'));
  return lower.split(/[.\-_]/)[0] || lower;
}

/** A repository field normalized to `host/owner/repo`, or undefined. */
export function repositoryKey(repository: unknown): string | undefined {
  const url = typeof repository === 'string' ? repository : (repository as { url?: unknown } | null)?.url;
  if (typeof url !== 'string') return undefined;
  let u = url.trim().toLowerCase().replace(/^git\+/, '').replace(/\.git$/, '').replace(/\/+$/, '');
  // Shorthands: "github:owner/repo", "owner/repo".
  if (/^[\w.-]+\/[\w.-]+$/.test(u)) u = `github.com/${u}`;
  u = u.replace(/^github:/, 'github.com/').replace(/^gitlab:/, 'gitlab.com/').replace(/^bitbucket:/, 'bitbucket.org/');
  u = u.replace(/^[a-z+]+:\/\//, '').replace(/^[^@/]+@/, '').replace(/:(?!\d)/, '/');
  const parts = u.split('/').filter(Boolean);
  if (parts.length < 3) return undefined;
  return parts.slice(0, 3).join('/');
}

/** Union of packages by name root and repository; returns each package's group id (the group's first name in order). */
export function groupPackages(packages: readonly { readonly name: string; readonly repository?: string }[]): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    // Path compression.
    for (let y = x; parent.get(y) !== r; ) {
      const next = parent.get(y)!;
      parent.set(y, r);
      y = next;
    }
    return r;
  };
  const union = (a: string, b: string) => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return;
    // The smaller name is the root, so the group id does not depend on input order.
    if (ra < rb) parent.set(rb, ra);
    else parent.set(ra, rb);
  };
  const keys = (p: { name: string; repository?: string }) => [`name:${nameRoot(p.name)}`, ...(p.repository ? [`repo:${p.repository}`] : [])];
  for (const p of packages) {
    parent.set(`pkg:${p.name}`, `pkg:${p.name}`);
    for (const k of keys(p)) if (!parent.has(k)) parent.set(k, k);
  }
  for (const p of packages) for (const k of keys(p)) union(`pkg:${p.name}`, k);
  // Group id: the alphabetically first package name in the group.
  const first = new Map<string, string>();
  for (const p of [...packages].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = find(`pkg:${p.name}`);
    if (!first.has(r)) first.set(r, p.name);
  }
  return new Map(packages.map((p) => [p.name, first.get(find(`pkg:${p.name}`))!]));
}

/** A number in [0, 1) from a hash of the seed and the key. */
export function unitHash(seed: number, key: string): number {
  return createHash('sha256').update(`${seed}\0${key}`).digest().readUInt32LE(0) / 2 ** 32;
}

/** Whether a group is held out. */
export function isHeldOut(seed: number, groupId: string, heldOutFraction: number): boolean {
  return unitHash(seed, `split:${groupId}`) < heldOutFraction;
}
