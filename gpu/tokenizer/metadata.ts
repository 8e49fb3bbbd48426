// Typed reads of GGUF metadata values. Each failure names the key, what was expected and what was found.
import { TokenizerError } from '../errors';

/** GGUF key/value metadata as the reader returns it (any value type; checked here per key). */
export type Metadata = ReadonlyMap<string, unknown>;

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (key missing)';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return `${typeof v} ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)?.slice(0, 40)}`;
}

function fail(key: string, expected: string, v: unknown): never {
  throw new TokenizerError(`GGUF metadata ${key}: expected ${expected}, found ${describe(v)}`);
}

export function optString(m: Metadata, key: string): string | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') fail(key, 'a string', v);
  return v;
}

export function requireString(m: Metadata, key: string): string {
  return optString(m, key) ?? fail(key, 'a string', undefined);
}

export function optBool(m: Metadata, key: string): boolean | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail(key, 'a bool', v);
  return v;
}

/** An integer scalar (GGUF u32/i32/u64 arrive as number or bigint); undefined when the key is absent. */
export function optInt(m: Metadata, key: string): number | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) fail(key, 'an integer', v);
  return n;
}

export function optStringArray(m: Metadata, key: string): readonly string[] | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || (v.length > 0 && typeof v[0] !== 'string')) fail(key, 'an array of strings', v);
  return v as readonly string[];
}

export function requireStringArray(m: Metadata, key: string): readonly string[] {
  return optStringArray(m, key) ?? fail(key, 'an array of strings', undefined);
}

/** A numeric array (typed array or plain array of numbers), checked to hold at least `minLength` values. */
export function optNumberArray(m: Metadata, key: string, minLength: number): ArrayLike<number> | undefined {
  const v = m.get(key);
  if (v === undefined) return undefined;
  const ok =
    (ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array)) ||
    (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number'));
  if (!ok) fail(key, 'an array of numbers', v);
  const a = v as ArrayLike<number>;
  if (a.length < minLength) {
    throw new TokenizerError(`GGUF metadata ${key}: holds ${a.length} values, needs one per token (${minLength})`);
  }
  return a;
}
