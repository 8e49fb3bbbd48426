// `node dist/eval.mjs pack-heldout --out FILE.tar.xz`: the held-out packages an evaluation would use, as one small
// archive for the GPU machine (the device tool carries at most 64 MiB with the model and Node): heldout-questions.json
// narrowed to those packages, and their heldout-workspaces/ folders. Unpacked into DIR, it is a corpus for --corpus DIR
// that gives the same packages in the same order (the seeded order of the whole set, narrowed, keeps its head).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { choosePackages, readHeldOut } from './heldout';
import type { WorkspacePick } from './options';

export function packHeldOut(o: { corpus: string; workspaces: WorkspacePick; seed: number; out: string }): { packages: number; bytes: number } {
  const set = readHeldOut(o.corpus);
  const chosen = choosePackages(set, o.workspaces, o.seed);
  const names = new Set(chosen.map((p) => p.package));
  const all = JSON.parse(readFileSync(set.questionsFile, 'utf8')) as { package: string }[];
  const tmp = mkdtempSync(join(tmpdir(), 'ql-heldout-'));
  try {
    writeFileSync(join(tmp, 'heldout-questions.json'), JSON.stringify(all.filter((p) => names.has(p.package))));
    const out = resolve(o.out);
    mkdirSync(dirname(out), { recursive: true });
    execFileSync('tar', ['-cJf', out, '-C', tmp, 'heldout-questions.json', '-C', resolve(o.corpus), ...chosen.map((p) => `heldout-workspaces/${p.package}`)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, XZ_OPT: '-9' },
    });
    return { packages: chosen.length, bytes: statSync(out).size };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
