// Result files of bench and eval runs are JSON stored gzip-compressed (`.json.gz`, about a tenth of the size): every
// file of the working tree travels to the GPU machine with each device call, within 64 MiB beside the model and the
// Node + Dawn carry. Older runs are plain `.json`; readers take either, by the file's extension.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

/** The extension a run writes. */
export const resultsExtension = '.json.gz';

/** A results file's name (`.json.gz` or the older `.json`). */
export const isResultsFile = (name: string): boolean => name.endsWith('.json') || name.endsWith('.json.gz');

/**
 * Writes `value` as gzip-compressed JSON (`space`: JSON.stringify's indent). Written beside and renamed over, so that
 * a run killed mid-write (the device call's time limit) leaves the previous save whole, never a truncated stream.
 */
export function writeResultsFile(path: string, value: unknown, space?: number): void {
  if (!path.endsWith(resultsExtension)) throw new Error(`${path}: a results file is written as ${resultsExtension}`);
  const tmp = `${path}.partial`;
  writeFileSync(tmp, gzipSync(`${JSON.stringify(value, null, space)}\n`, { level: 9 }));
  renameSync(tmp, path);
}

/** Parses a `.json.gz` or `.json` results file (by its extension). */
export function readResultsFile(path: string): unknown {
  if (!isResultsFile(path)) throw new Error(`${path}: a results file ends in .json.gz (or .json, from older runs)`);
  const bytes = readFileSync(path);
  return JSON.parse((path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
}
