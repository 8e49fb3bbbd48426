// Benchmark of the workspace reader and packer (not a test): generates a large tree in a temp folder, then times
// collectFiles, packing into a 128K-token window, and packing everything, and prints files/s, tokens/s and peak RSS.
//   npx esbuild bench/readerBench.ts --bundle --platform=node --outfile=/tmp/readerBench.js --log-level=warning
//   node /tmp/readerBench.js [--files=100000] [--tokenizer=p50k|simple] [--window=131072] [--keep]
// The generated tree: folders of 100 files, source files of 2–40 lines (≈ 0.2–2.5 KB), plus per 1,000 files one
// lock file, one PNG, one minified bundle, and a .gitignored `generated/` folder, so every skip path runs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectFiles } from '../extension/context/collectFiles';
import type { ContextTokenizer } from '../extension/context/framing';
import { packContext, type PackOptions } from '../extension/context/packContext';
import { p50kTokenizer } from '../test/unit/contextTokenizer';
import { rng } from '../test/util/random';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const fileCount = Number(args.get('files') ?? 100_000);
const windowTokens = Number(args.get('window') ?? 131_072);
const tokenizerName = args.get('tokenizer') ?? 'p50k';

/** A fast stand-in tokenizer: one token per run of word characters, per run of spaces, per other character. */
function simpleTokenizer(): ContextTokenizer {
  const ids = new Map<string, number>();
  const bytes: Uint8Array[] = [];
  const utf8 = new TextEncoder();
  return {
    encode(text) {
      const out: number[] = [];
      for (const m of text.matchAll(/\w+| +|[\s\S]/g)) {
        let id = ids.get(m[0]);
        if (id === undefined) {
          id = bytes.push(utf8.encode(m[0])) - 1;
          ids.set(m[0], id);
        }
        out.push(id);
      }
      return out;
    },
    tokenBytes: (id) => bytes[id],
  };
}

const words = ['value', 'count', 'index', 'result', 'buffer', 'page', 'token', 'score', 'limit', 'offset', 'config', 'cache', 'entry', 'state'];

function sourceFile(next: () => number, i: number): string {
  const pick = () => words[Math.floor(next() * words.length)];
  const lines = [`// Generated module ${i}.`, `import { helper${i % 97} } from '../shared/helper${i % 97}';`, ''];
  const functions = 1 + Math.floor(next() * 6);
  for (let f = 0; f < functions; f++) {
    const a = pick();
    const b = pick();
    lines.push(`export function ${a}${i}_${f}(${b}: number, ${a}Limit = ${Math.floor(next() * 1000)}): number {`);
    for (let k = Math.floor(next() * 5); k >= 0; k--) lines.push(`  if (${b} > ${a}Limit) return ${b} - ${k};`);
    lines.push(`  return helper${i % 97}(${b}) + ${f};`, '}', '');
  }
  return lines.join('\n');
}

function generate(root: string, count: number): void {
  const next = rng(1234);
  writeFileSync(join(root, '.gitignore'), 'generated/\n*.log\n');
  for (let i = 0; i < count; i++) {
    const dir = join(root, `pkg${Math.floor(i / 10_000)}`, `mod${Math.floor(i / 100) % 100}`);
    if (i % 100 === 0) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `file${i}.ts`), sourceFile(next, i));
    if (i % 1000 === 0) {
      writeFileSync(join(dir, 'package-lock.json'), '{}\n');
      writeFileSync(join(dir, 'logo.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
      writeFileSync(join(dir, 'bundle.js'), `!function(){${'var a=1;'.repeat(500)}}();`);
      mkdirSync(join(dir, 'generated'));
      writeFileSync(join(dir, 'generated', 'out.ts'), 'ignored\n');
    }
  }
}

/**
 * Runs `fn`, sampling RSS every 20 ms; returns its result, wall seconds, CPU seconds (user + system: on a machine
 * shared with other work, wall time alone overstates the cost) and the peak RSS seen (MiB).
 */
async function measure<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number; cpu: number; peakMiB: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpuUsed = process.cpuUsage(cpu0);
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { result, seconds, cpu: (cpuUsed.user + cpuUsed.system) / 1e6, peakMiB: peak / 2 ** 20 };
}

/** "12.3 s wall, 4.5 s CPU" */
const took = (m: { seconds: number; cpu: number }) => `${m.seconds.toFixed(2)} s wall, ${m.cpu.toFixed(2)} s CPU`;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'ql-reader-bench-'));
  try {
    const g = await measure(async () => generate(root, fileCount));
    console.log(`generated ${fmt(fileCount)} source files (+ skip cases) in ${g.seconds.toFixed(1)} s under ${root}; load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores`);
    const tokenizer = tokenizerName === 'simple' ? simpleTokenizer() : p50kTokenizer;
    const folders = [{ name: 'bench', path: root }];

    const c = await measure(() => collectFiles({ folders }));
    const { files, skipped } = c.result;
    const bytes = files.reduce((n, f) => n + f.size, 0);
    console.log(
      `collectFiles: ${fmt(files.length)} files (${(bytes / 2 ** 20).toFixed(1)} MiB), ${fmt(skipped.length)} skipped, ` +
        `${took(c)} = ${fmt(files.length / c.seconds)} files/s (${fmt(files.length / c.cpu)} per CPU s), peak RSS ${c.peakMiB.toFixed(0)} MiB`,
    );

    const base: PackOptions = { files, skipped, tokenizer, pageSize: 16 };
    const w = await measure(() => packContext({ ...base, window: { maxContextTokens: windowTokens, question: 'Where is cache12_3 computed?' } }));
    const wm = w.result.manifest;
    console.log(
      `packContext window ${fmt(windowTokens)}: ${fmt(wm.files.length)} files, ${fmt(wm.totalTokens)} tokens, ` +
        `${fmt(wm.skipped.filter((s) => s.reason === 'over-budget').length)} over budget, ${took(w)} ` +
        `(${fmt(files.length / w.seconds)} files/s read and scored), peak RSS ${w.peakMiB.toFixed(0)} MiB`,
    );

    const a = await measure(() => packContext(base));
    const am = a.result.manifest;
    console.log(
      `packContext all (${tokenizerName}): ${fmt(am.files.length)} files, ${fmt(am.totalTokens)} tokens, ${took(a)} = ` +
        `${fmt(am.files.length / a.seconds)} files/s, ${fmt(am.totalTokens / a.seconds)} tokens/s ` +
        `(${fmt(am.totalTokens / a.cpu)} per CPU s), peak RSS ${a.peakMiB.toFixed(0)} MiB`,
    );
    const reasons = new Map<string, number>();
    for (const s of am.skipped) reasons.set(s.reason, (reasons.get(s.reason) ?? 0) + 1);
    console.log(`skipped by reason: ${[...reasons].map(([r, n]) => `${r} ${fmt(n)}`).join(', ')}`);
    console.log(`process maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; node ${process.version}`);
  } finally {
    if (!args.has('keep')) rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
