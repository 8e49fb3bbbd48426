// What the in-host runner (index.ts, inside the extension host) hands back to inHost.test.ts (outside): one JSON
// file, written where QUEST_LENS_E2E_RESULTS says.

export const resultsEnv = 'QUEST_LENS_E2E_RESULTS';

export interface InHostResult {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  /** The failure's stack, when !ok. */
  readonly error?: string;
}
