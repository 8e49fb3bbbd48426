// Where tests find the repository root, shared models and installed packages, whether run from out/test/ or a
// private out/test-<pid>/ bundle folder: found by walking up to the repository's package.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function findRepoRoot(): string {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = resolve(start); dir !== dirname(dir); dir = dirname(dir)) {
      const pkg = join(dir, 'package.json');
      if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'quest-lens') return dir;
    }
  }
  throw new Error(`no quest-lens package.json above ${__dirname} or ${process.cwd()}`);
}

/** The repository root (a string, computed once when the test file loads). */
export const repoRoot = findRepoRoot();

/** A model under ../shared/models/ beside the repository root; throws (never skips) when the file is missing. */
export function sharedModelPath(name: string): string {
  const path = join(repoRoot, '..', 'shared', 'models', name);
  if (!existsSync(path)) {
    throw new Error(
      `test model ${name} is missing: looked for ${path} (tests read models from ../shared/models/ relative to the ` +
        `repository root ${repoRoot}; they are never copied into the repository)`,
    );
  }
  return path;
}
