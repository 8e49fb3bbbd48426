// Typed getters over GGUF metadata. A required getter throws GgufError naming the key when it is missing; every getter
// throws naming the key, the type found and the type wanted when the value has another type. `...Or` variants
// return the fallback only when the key is absent (a present value of the wrong type is still an error).
import { GgufError } from '../errors';
import type { GgufFile, GgufValue } from './reader';

/** Numeric arrays as GGUF stores them (64-bit integer arrays excluded: see metaArray). */
export type NumericArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

export function metaValue(file: GgufFile, key: string): GgufValue {
  const v = file.metadata.get(key);
  if (v === undefined) throw new GgufError(file.path, `missing metadata key '${key}'`);
  return v;
}

export function metaString(file: GgufFile, key: string): string {
  return check(file, key, metaValue(file, key), isString, 'a string');
}
export function metaStringOr<T>(file: GgufFile, key: string, fallback: T): string | T {
  const v = file.metadata.get(key);
  return v === undefined ? fallback : check(file, key, v, isString, 'a string');
}

/** Any numeric scalar (u8..i64, f32, f64) as a number; a 64-bit integer beyond 2^53 is an error. */
export function metaNumber(file: GgufFile, key: string): number {
  return check(file, key, metaValue(file, key), isNumber, 'a number');
}
export function metaNumberOr<T>(file: GgufFile, key: string, fallback: T): number | T {
  const v = file.metadata.get(key);
  return v === undefined ? fallback : check(file, key, v, isNumber, 'a number');
}

export function metaBool(file: GgufFile, key: string): boolean {
  return check(file, key, metaValue(file, key), isBool, 'a bool');
}
export function metaBoolOr<T>(file: GgufFile, key: string, fallback: T): boolean | T {
  const v = file.metadata.get(key);
  return v === undefined ? fallback : check(file, key, v, isBool, 'a bool');
}

export function metaStringArray(file: GgufFile, key: string): readonly string[] {
  return check(file, key, metaValue(file, key), isStringArray, 'an array of strings');
}
export function metaStringArrayOr<T>(file: GgufFile, key: string, fallback: T): readonly string[] | T {
  const v = file.metadata.get(key);
  return v === undefined ? fallback : check(file, key, v, isStringArray, 'an array of strings');
}

/** A numeric array as the typed array the file's item type gives (Float32Array for f32 scores, Int32Array for i32…). */
export function metaNumberArray(file: GgufFile, key: string): NumericArray {
  return check(file, key, metaValue(file, key), isNumericArray, 'an array of numbers');
}
export function metaNumberArrayOr<T>(file: GgufFile, key: string, fallback: T): NumericArray | T {
  const v = file.metadata.get(key);
  return v === undefined ? fallback : check(file, key, v, isNumericArray, 'an array of numbers');
}

/** An array of any item type (typed array, string[], boolean[], or nested arrays). */
export function metaArray(file: GgufFile, key: string): Exclude<GgufValue, number | bigint | boolean | string> {
  return check(file, key, metaValue(file, key), isArray, 'an array');
}

/** A short description of a value for messages: its GGUF type and a preview. */
export function describeMeta(file: GgufFile, key: string): string {
  const v = file.metadata.get(key);
  if (v === undefined) return 'absent';
  const type = file.metadataTypes.get(key) ?? typeof v;
  if (typeof v === 'string') return `${type} ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v !== 'object') return `${type} ${String(v)}`;
  return `${type} of ${v.length} items`;
}

function check<T extends GgufValue>(file: GgufFile, key: string, v: GgufValue, ok: (v: GgufValue) => v is T, wanted: string): T {
  if (!ok(v)) throw new GgufError(file.path, `metadata key '${key}' is ${describeMeta(file, key)}, expected ${wanted}`);
  return v;
}

const isString = (v: GgufValue): v is string => typeof v === 'string';
const isNumber = (v: GgufValue): v is number => typeof v === 'number';
const isBool = (v: GgufValue): v is boolean => typeof v === 'boolean';
const isArray = (v: GgufValue): v is Exclude<GgufValue, number | bigint | boolean | string> => typeof v === 'object';
const isStringArray = (v: GgufValue): v is readonly string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isNumericArray = (v: GgufValue): v is NumericArray =>
  ArrayBuffer.isView(v) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
