// The extensionTestsPath entry: the workbench loads this file into the extension host (next to the extension under
// test) and calls run(); when it settles, the workbench reports 0 or 1 through codeAutomationExit. Each test runs
// in turn with a time limit; the results go to a JSON file for inHost.test.ts to report one node:test case each.
import { writeFileSync } from 'node:fs';
import { type InHostResult, resultsEnv } from './result';
import { inHostTests } from './tests';

export async function run(): Promise<void> {
  const out = process.env[resultsEnv];
  if (!out) throw new Error(`${resultsEnv} is not set: the extension host should inherit it from code-server`);
  const results: InHostResult[] = [];
  for (const t of inHostTests) {
    const t0 = Date.now();
    try {
      await withTimeout(t.run(), t.timeoutMs ?? 30_000, t.name);
      results.push({ name: t.name, ok: true, ms: Date.now() - t0 });
    } catch (err) {
      results.push({ name: t.name, ok: false, ms: Date.now() - t0, error: (err as Error).stack ?? String(err) });
    }
    writeFileSync(out, JSON.stringify(results)); // after each test: a hang still leaves the earlier results
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length) throw new Error(`${failed.length} of ${results.length} in-host tests failed: ${failed.map((f) => f.name).join('; ')}`);
}

function withTimeout(p: Promise<void>, ms: number, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`"${name}" did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
