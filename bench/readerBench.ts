// Benchmark of the workspace reader and packer at scale (not a test): generates a workspace in a temp folder (default
// 100,000 files, 2 GB), then measures a load as the engine process runs it: the walk (collectFiles), then packing
// into a 128K-token window (pass 1 reads and scores every file, pass 2 tokenizes the best until the window is full);
// optionally (--all) packing every file. For each: wall and CPU time, peak RSS, and the longest stretch without a
// progress report. Then it cancels loads at seeded moments of the walk, the reading and the tokenizing, and reports
// how long each took to stop.
//   npx esbuild bench/readerBench.ts --bundle --platform=node --outfile=/tmp/readerBench.js --log-level=warning
//   node /tmp/readerBench.js [--files=100000] [--bytes=2e9] [--tokenizer=p50k|simple|MODEL.gguf] [--window=131072]
//                            [--all] [--cancels=6] [--dir=DIR (reuse a tree made with --keep)] [--keep]
// A cancel takes effect between files, and with a model's own tokenizer (--tokenizer=MODEL.gguf, which has
// encodeSteps) also between the few-ms steps of one file; the bench times the largest file under the cap whole and
// reports its longest step: the longest a cancel can wait inside one file (p50k and simple tokenize a file whole).
// The generated tree: folders of 100 files; sizes drawn so that the files add up to --bytes (most 2-40 KB, 1% of
// 0.3-0.9 MB, 0.1% over the 1 MiB cap); per 1,000 files one lock file, one PNG, one minified bundle and a
// .gitignored `generated/` folder, so every skip path runs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectFiles } from '../extension/context/collectFiles';
import type { ContextTokenizer } from '../extension/context/framing';
import { packContext, type PackOptions } from '../extension/context/packContext';
import { frameFile } from '../extension/context/framing';
import { nodeReaderFs } from '../extension/context/readerFs';
import { classifySource } from '../extension/context/readSource';
import { readGguf } from '../gpu/gguf/reader';
import { midTextTokenizer, packerTokenizer } from '../gpu/session/contextTokenizer';
import { p50kTokenizer } from '../test/unit/contextTokenizer';
import { rng } from '../test/util/random';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const fileCount = Number(args.get('files') ?? 100_000);
const totalBytes = Number(args.get('bytes') ?? 2e9);
const windowTokens = Number(args.get('window') ?? 131_072);
const tokenizerName = args.get('tokenizer') ?? 'p50k';
const cancels = Number(args.get('cancels') ?? 6);
const MAX_FILE_BYTES = 1 << 20;

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

/** One generated function of a few lines. */
function sourceChunk(next: () => number, i: number): string {
  const pick = () => words[Math.floor(next() * words.length)];
  const a = pick();
  const b = pick();
  const lines = [`export function ${a}${i}(${b}: number, ${a}Limit = ${Math.floor(next() * 1000)}): number {`];
  for (let k = Math.floor(next() * 6); k >= 0; k--) lines.push(`  if (${b} > ${a}Limit - ${k}) return ${b} - ${k}; // ${pick()} ${pick()}`);
  lines.push(`  return ${b} + ${i % 97};`, '}', '');
  return lines.join('\n');
}

/** Per-file sizes: most 2-40 KB, 1% of 0.3-0.9 MB, 0.1% over the cap; scaled so that they add up to `total`. */
function fileSizes(next: () => number, count: number, total: number): number[] {
  const raw = Array.from({ length: count }, () => {
    const r = next();
    if (r < 0.001) return MAX_FILE_BYTES + 1 + Math.floor(next() * MAX_FILE_BYTES);
    if (r < 0.011) return 300_000 + Math.floor(next() * 600_000);
    return 2_000 + Math.floor(next() ** 2 * 38_000);
  });
  // Scale the files under the cap (those over it stay over it) to reach the total.
  const over = raw.filter((s) => s > MAX_FILE_BYTES).reduce((a, b) => a + b, 0);
  const under = raw.filter((s) => s <= MAX_FILE_BYTES).reduce((a, b) => a + b, 0);
  const k = Math.max(0.05, (total - over) / under);
  return raw.map((s) => (s > MAX_FILE_BYTES ? s : Math.min(MAX_FILE_BYTES, Math.max(200, Math.round(s * k)))));
}

function generate(root: string, count: number, total: number): number {
  const next = rng(1234);
  // A pool of source chunks; each file is a header naming it and chunks from the pool until its size.
  const pool = Array.from({ length: 512 }, (_, i) => sourceChunk(next, i));
  const sizes = fileSizes(next, count, total);
  let written = 0;
  writeFileSync(join(root, '.gitignore'), 'generated/\n*.log\n');
  for (let i = 0; i < count; i++) {
    const dir = join(root, `pkg${Math.floor(i / 10_000)}`, `mod${Math.floor(i / 100) % 100}`);
    if (i % 100 === 0) mkdirSync(dir, { recursive: true });
    const parts = [`// Generated module ${i}.\nimport { helper${i % 97} } from '../shared/helper${i % 97}';\n\n`];
    let size = parts[0].length;
    while (size < sizes[i]) {
      const chunk = pool[Math.floor(next() * pool.length)];
      parts.push(chunk);
      size += chunk.length;
    }
    const text = parts.join('');
    writeFileSync(join(dir, `file${i}.ts`), text);
    written += text.length;
    if (i % 1000 === 0) {
      writeFileSync(join(dir, 'package-lock.json'), '{}\n');
      writeFileSync(join(dir, 'logo.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]));
      writeFileSync(join(dir, 'bundle.js'), `!function(){${'var a=1;'.repeat(500)}}();`);
      mkdirSync(join(dir, 'generated'));
      writeFileSync(join(dir, 'generated', 'out.ts'), 'ignored\n');
    }
  }
  return written;
}

interface Measured<T> {
  readonly result: T;
  readonly seconds: number;
  readonly cpu: number;
  readonly peakMiB: number;
  /** Longest time between two progress reports (the start and the end count as reports), and how many there were. */
  readonly longestSilence: number;
  readonly reports: number;
}

/**
 * Runs `fn`, sampling RSS every 20 ms and timing the gaps between the progress reports it makes through `tick`;
 * returns its result, wall seconds, CPU seconds (user + system: on a machine shared with other work, wall time alone
 * overstates the cost), the peak RSS seen (MiB) and the longest silence.
 */
async function measure<T>(fn: (tick: () => void) => Promise<T>): Promise<Measured<T>> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let last = t0;
  let longest = 0;
  let reports = 0;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    reports++;
  };
  const result = await fn(tick);
  tick();
  const seconds = (performance.now() - t0) / 1000;
  const cpuUsed = process.cpuUsage(cpu0);
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { result, seconds, cpu: (cpuUsed.user + cpuUsed.system) / 1e6, peakMiB: peak / 2 ** 20, longestSilence: longest / 1000, reports: reports - 1 };
}

/** "12.3 s wall, 4.5 s CPU, peak RSS 170 MiB, longest silence 0.21 s (12,345 progress reports)" */
const took = (m: Measured<unknown>) =>
  `${m.seconds.toFixed(2)} s wall, ${m.cpu.toFixed(2)} s CPU, peak RSS ${m.peakMiB.toFixed(0)} MiB, ` +
  `longest stretch without progress ${m.longestSilence.toFixed(2)} s (${fmt(m.reports)} progress reports)`;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

type Phase = 'walk' | 'read' | 'tokenize';

/**
 * One load (walk, then the window pack) cancelled when `phase` has reached `at` (a fraction of its files): the time
 * from the cancel to the end of the load (its rejection, or its end if it finished first).
 * The cancel is a timer, as the engine process gets it (a request/cancel message is handled when the event loop is
 * free), so a long stretch of synchronous work counts against it.
 */
async function cancelledLoad(root: string, tokenizer: ContextTokenizer, phase: Phase, at: number): Promise<{ ms: number; error: string }> {
  const controller = new AbortController();
  let abortedAt = 0;
  const abortWhen = (reached: boolean) => {
    if (reached && !abortedAt) {
      abortedAt = performance.now();
      setTimeout(() => controller.abort(), 0);
    }
  };
  const signal = controller.signal;
  try {
    const { files, skipped } = await collectFiles({
      folders: [{ name: 'bench', path: root }],
      signal,
      onProgress: (f) => phase === 'walk' && abortWhen(f.files >= at * fileCount),
    });
    await packContext({
      files,
      skipped,
      tokenizer,
      pageSize: 16,
      signal,
      window: { maxContextTokens: windowTokens, question: 'Where is cache12 computed?' },
      onProgress: (p) => abortWhen(p.phase === phase && p.done >= at * p.total),
    });
  } catch (e) {
    return { ms: performance.now() - abortedAt, error: (e as Error).name };
  }
  // The rest of the load ran without yielding to the timer: it ended, whole, this long after the cancel.
  return { ms: abortedAt ? performance.now() - abortedAt : NaN, error: 'finished before the cancel took effect' };
}

async function main(): Promise<void> {
  const given = args.get('dir');
  const root = given ?? mkdtempSync(join(tmpdir(), 'ql-reader-bench-'));
  try {
    if (!given || readdirSync(root).length === 0) {
      const g = await measure(async () => generate(root, fileCount, totalBytes));
      console.log(
        `generated ${fmt(fileCount)} source files, ${(g.result / 1e9).toFixed(2)} GB (+ skip cases), in ${g.seconds.toFixed(1)} s under ${root}; ` +
          `load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
      );
    } else if (!existsSync(join(root, '.gitignore'))) {
      throw new Error(`--dir=${root} is not a tree this bench made`);
    }
    const tokenizer = tokenizerName === 'simple' ? simpleTokenizer() : tokenizerName.endsWith('.gguf') ? packerTokenizer(midTextTokenizer((await readGguf(tokenizerName)).metadata)) : p50kTokenizer;
    const folders = [{ name: 'bench', path: root }];

    const c = await measure((tick) => collectFiles({ folders, maxFileBytes: MAX_FILE_BYTES, onProgress: tick }));
    const { files, skipped } = c.result;
    const bytes = files.reduce((n, f) => n + f.size, 0);
    console.log(`collectFiles: ${fmt(files.length)} files (${(bytes / 1e9).toFixed(2)} GB), ${fmt(skipped.length)} skipped, ${took(c)}`);

    const base: PackOptions = { files, skipped, tokenizer, pageSize: 16, maxFileBytes: MAX_FILE_BYTES };
    const w = await measure((tick) => packContext({ ...base, window: { maxContextTokens: windowTokens, question: 'Where is cache12 computed?' }, onProgress: tick }));
    const wm = w.result.manifest;
    console.log(
      `packContext window ${fmt(windowTokens)} (${tokenizerName}): ${fmt(wm.files.length)} files, ${fmt(wm.totalTokens)} tokens, ` +
        `${fmt(wm.skipped.filter((s) => s.reason === 'over-budget').length)} over budget; ${(bytes / 1e6 / w.seconds).toFixed(0)} MB/s read and scored; ${took(w)}`,
    );
    console.log(`a whole load (walk + window pack): ${(c.seconds + w.seconds).toFixed(1)} s wall, peak RSS ${Math.max(c.peakMiB, w.peakMiB).toFixed(0)} MiB`);

    if (args.has('all')) {
      const a = await measure((tick) => packContext({ ...base, onProgress: tick }));
      const am = a.result.manifest;
      console.log(`packContext all (${tokenizerName}): ${fmt(am.files.length)} files, ${fmt(am.totalTokens)} tokens, ${fmt(am.totalTokens / a.seconds)} tokens/s; ${took(a)}`);
    }

    // The longest a cancel can wait while tokenizing: one file, the largest under the cap.
    const largest = files.reduce((a, f) => (f.size > a.size ? f : a));
    const source = classifySource(await nodeReaderFs.readFile(largest.absPath, MAX_FILE_BYTES), MAX_FILE_BYTES);
    if (source.kind === 'text') {
      const framed = frameFile(largest.path, source.text);
      const t0 = performance.now();
      const n = tokenizer.encode(framed).length;
      const whole = performance.now() - t0;
      let longest = whole;
      if (tokenizer.encodeSteps) {
        longest = 0;
        let last = performance.now();
        for (const _ of tokenizer.encodeSteps(framed, [])) {
          longest = Math.max(longest, performance.now() - last);
          last = performance.now();
        }
        longest = Math.max(longest, performance.now() - last);
      }
      console.log(
        `the largest file (${fmt(largest.size)} bytes, ${fmt(n)} tokens) tokenizes in ${whole.toFixed(0)} ms; ` +
          `the longest a cancel can wait inside it: ${longest.toFixed(0)} ms`,
      );
    }

    // Cancels at seeded moments of each phase.
    const next = rng(99);
    const phases: Phase[] = ['walk', 'read', 'tokenize'];
    const results: string[] = [];
    let slowest = 0;
    for (let i = 0; i < cancels; i++) {
      const phase = phases[i % phases.length];
      const at = 0.1 + next() * 0.8;
      const r = await cancelledLoad(root, tokenizer, phase, at);
      slowest = Math.max(slowest, Number.isNaN(r.ms) ? Infinity : r.ms);
      results.push(`${phase} at ${(at * 100).toFixed(0)}%: ${r.ms.toFixed(0)} ms (${r.error})`);
    }
    if (cancels > 0) console.log(`cancel → rejected: ${results.join('; ')}; slowest ${slowest.toFixed(0)} ms`);
    console.log(`process maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; node ${process.version}`);
  } finally {
    if (!args.has('keep') && !given) rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
