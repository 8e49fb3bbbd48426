// `npm run bench` (dist/bench.js): measures the engine on this machine's GPU and writes bench/results/*.json.gz, then
// regenerates BENCHMARKS.md's tables from every result there.
//   node dist/bench.js [--suite device|smoke] [--plans 0,2] [--out DIR] [--tmp DIR] [--no-report]
//                      [--no-peer] [--no-pipeline] [--source DIR]
//   node dist/bench.js report              only regenerate BENCHMARKS.md from bench/results/*.json.gz (and older .json)
// After each model's last picked plan, llama.cpp runs on the same GGUF at those plans' contexts (--no-peer skips
// it); after the plans, the extension's pipeline on a copy of the repository's sources (--source: the repository,
// default the one around the working directory; --no-pipeline skips it).
// A plan's model file (the built-in model's plan) is read from the repository around the working directory.
// The default suite is `device` on a hardware GPU and `smoke` on a software adapter (whose results go to a temp
// folder: lavapipe figures say nothing about speed). BENCH_COMMIT / BENCH_DIRTY override the git commit recorded
// (the GPU machine gets the working tree without .git).
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchDawnFlags, openBenchGpu } from './benchGpu';
import { measureCopyBandwidth } from './copyBandwidth';
import { GpuTimer } from './gpuTimer';
import { benchAggregation, benchModel } from './modelBench';
import { type PeerResult, benchPeer, peerContexts, withPeerLimits } from './peer/peerBench';
import { type PipelineResult, benchPipeline, findRepoRoot } from './pipelineBench';
import { writeBenchmarksMarkdown } from './report';
import { commit, driver, packageVersion } from './provenance';
import { resultsExtension, writeResultsFile } from './resultsFile';
import type { BenchResult, ModelResult } from './results';
import { suites } from './suites';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'report') {
    const { values: a } = parseArgs({ args: argv.slice(1), options: { results: { type: 'string', default: 'bench/results' }, markdown: { type: 'string', default: 'BENCHMARKS.md' } } });
    writeBenchmarksMarkdown(a.results!, a.markdown!);
    console.log(`[bench] ${a.markdown} regenerated from ${a.results}`);
    return 0;
  }
  const { values: a } = parseArgs({
    args: argv,
    options: {
      suite: { type: 'string' },
      plans: { type: 'string' },
      out: { type: 'string' },
      tmp: { type: 'string' },
      'no-report': { type: 'boolean', default: false },
      'no-peer': { type: 'boolean', default: false },
      'no-pipeline': { type: 'boolean', default: false },
      source: { type: 'string' },
    },
  });
  const t00 = performance.now();
  const log = (m: string) => console.log(`[bench ${((performance.now() - t00) / 1000).toFixed(1).padStart(6)} s] ${m}`);
  const gpu = await openBenchGpu();
  try {
    const software = gpu.summary.isSoftware;
    const suite = suites[a.suite ?? (software ? 'smoke' : 'device')];
    if (!suite) throw new Error(`--suite must be one of ${Object.keys(suites).join(', ')}, got '${a.suite}'`);
    const picked = a.plans ? a.plans.split(',').map(Number) : suite.plans.map((_, i) => i);
    for (const i of picked) if (!suite.plans[i]) throw new Error(`--plans: suite ${suite.name} has plans 0..${suite.plans.length - 1}, got ${i}`);
    const outDir = a.out ?? (software ? mkdtempSync(join(tmpdir(), 'quest-lens-bench-')) : 'bench/results');
    const tmpDir = a.tmp ?? mkdtempSync(join(tmpdir(), 'quest-lens-models-'));
    mkdirSync(outDir, { recursive: true });
    log(`${gpu.summary.description} (${gpu.summary.vendor} ${gpu.summary.architecture}); suite ${suite.name}, plans ${picked.join(',')}`);

    const timer = gpu.hasTimestamps ? new GpuTimer(gpu) : undefined;
    const copy = await measureCopyBandwidth(gpu, suite.copyBytes, suite.copyReps, timer, software ? 100 : 1500);
    let copyAtEnd: typeof copy | undefined;
    const bw = (c: typeof copy) => c.kernelBytesPerSecond ?? c.gpuBytesPerSecond ?? c.wallBytesPerSecond;
    let copyBytesPerSecond = bw(copy);
    log(`copy bandwidth ${(copyBytesPerSecond / 1e9).toFixed(0)} GB/s (read + write; copyBufferToBuffer ${((copy.gpuBytesPerSecond ?? copy.wallBytesPerSecond) / 1e9).toFixed(0)} GB/s)`);

    const date = new Date().toISOString();
    const device = { description: gpu.summary.description, vendor: gpu.summary.vendor, architecture: gpu.summary.architecture, ...driver(), isSoftware: software };
    const models: ModelResult[] = [];
    let peers: PeerResult[] = [];
    let pipeline: PipelineResult | undefined;
    const notes: string[] = [];
    // A peer or pipeline failure is recorded and fails the run at the end; the measurements go on.
    const attempt = async (what: string, f: () => Promise<void>) => {
      try {
        await f();
      } catch (e) {
        log(`${what} failed: ${(e as Error).stack ?? e}`);
        notes.push(`${what} failed: ${(e as Error).message}`);
        process.exitCode = 1;
      }
    };
    // The synthetic plans' page size and dense layers; a model file decodes with its own (ModelResult.pageSize, …).
    const settings = { pageSize: 16, denseLayers: 2, decodeTokens: suite.decodeTokens, profileReps: suite.profileReps };
    const result = (): BenchResult => ({
      schema: 1,
      suite: suite.name,
      date,
      ...commit('BENCH'),
      command: `node dist/bench.js ${argv.join(' ')}`.trim(),
      device,
      runtime: { node: process.version, webgpu: packageVersion('webgpu'), dawnFlags: benchDawnFlags },
      settings: { ...settings, kvType: gpu.hasF16 ? 'f16' : 'f32', aggregation: benchAggregation },
      copy,
      ...(copyAtEnd ? { copyAtEnd } : {}),
      copyBytesPerSecond,
      models,
      ...(peers.length ? { peers } : {}),
      ...(pipeline ? { pipeline } : {}),
      notes,
    });
    const file = join(outDir, `${date.slice(0, 19).replace(/[:T]/g, '-')}-${suite.name}-${slug(device.description)}${resultsExtension}`);
    const save = () => writeResultsFile(file, result(), 1);
    const root = findRepoRoot(process.cwd());
    const peerAfter = suite.peer && !a['no-peer'] ? peerContexts(suite.plans, picked) : new Map<number, number[]>();
    for (const i of picked) {
      await benchModel({ gpu, timer, copyBytesPerSecond, tmpDir, root, ...settings, log }, suite.plans[i], (r) => {
        models.push(r);
        save();
      });
      const contexts = peerAfter.get(i);
      if (contexts) {
        await attempt(`llama.cpp peer on plan ${i}`, async () => {
          peers.push(await benchPeer({ tmpDir, root, copyBytesPerSecond, gpu: software ? false : 'vulkan', log }, suite.plans[i], contexts, suite.peer!));
          save();
        });
      }
    }
    if (suite.pipeline && !a['no-pipeline']) {
      await attempt('pipeline', () =>
        benchPipeline({ gpu, tmpDir, source: a.source ?? root, log }, suite.pipeline!, (r) => {
          pipeline = r;
          save();
        }),
      );
    }
    copyAtEnd = await measureCopyBandwidth(gpu, suite.copyBytes, suite.copyReps, timer, software ? 100 : 1500);
    log(`copy bandwidth at the end ${(bw(copyAtEnd) / 1e9).toFixed(0)} GB/s`);
    if (bw(copyAtEnd) > copyBytesPerSecond) {
      // Limits use the larger figure: the yardstick should not flatter the engine.
      copyBytesPerSecond = bw(copyAtEnd);
      for (const m of models) {
        m.runs = m.runs.map((r) => ({ ...r, limitUs: (r.traffic.total / copyBytesPerSecond) * 1e6, percentOfLimit: ((r.traffic.total / copyBytesPerSecond) * 1e6 / (r.msPerToken * 1000)) * 100 }));
      }
      peers = peers.map((p) => withPeerLimits(p, copyBytesPerSecond));
    }
    save();
    log(`results: ${file}`);
    timer?.destroy();
    if (!software && !a['no-report'] && outDir === 'bench/results') {
      writeBenchmarksMarkdown(outDir, 'BENCHMARKS.md');
      log('BENCHMARKS.md regenerated');
    }
    return process.exitCode ? 1 : 0;
  } finally {
    gpu.dispose();
  }
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40);

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`[bench] ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
