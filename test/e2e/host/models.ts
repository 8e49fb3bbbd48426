// Models the e2e sessions load: read from ../shared/models/ beside the repository root, never copied into it.
// Missing means the machine is not set up: fail loudly, never skip.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './setup';

/** Set for in-host sessions: the GGUF file the in-host tests select (the tests run where repoRoot() cannot). */
export const modelEnv = 'QUEST_LENS_E2E_MODEL';

export function sharedModel(name: string): string {
  const path = join(repoRoot(), '..', 'shared', 'models', name);
  if (!existsSync(path)) {
    throw new Error(`test model ${name} is missing: looked for ${path} (the e2e tests read models from ../shared/models/ beside the repository root)`);
  }
  return path;
}
