// GGUF fuzzing: thousands of seeded mutations of valid model files (stories260K and generated llama / qwen2 files
// with SentencePiece and byte-level BPE vocabularies, a chat template, rope_freqs, quantized types) go through
// everything a model load does on the host before it touches the GPU: the header, the config against the tensors,
// the tokenizer, the prompt layout with its chat template, and a round of encode/decode. Each case must end in an
// EngineError naming the file (GgufError, ModelConfigError, …) or load cleanly, within a second, without a crash, a
// hang, or memory beyond the reader's cap (some mutants are grown to gigabytes, sparse, so that a huge count is one
// the file's size can back). The cases run in a child process: a crash or a hang there is reported with its seed.
//   QUEST_LENS_FUZZ_CASES=50000 node scripts/test.mjs test/reliability/ggufFuzz.test.ts   more cases (default 3000)
//   QUEST_LENS_FUZZ_SEED=7 …                                                            another series (default 1)
import assert from 'node:assert/strict';
import { execFileSync, fork } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readModelFile } from '../../gpu/engine';
import { EngineError, GgufError } from '../../gpu/errors';
import { MAX_HEADER_MEMORY } from '../../gpu/gguf/cursor';
import { readGguf } from '../../gpu/gguf/reader';
import { kv } from '../../gpu/gguf/writer';
import { GgmlType } from '../../gpu/model/ggmlTypes';
import { midTextTokenizer } from '../../gpu/session/contextTokenizer';
import { promptLayout } from '../../gpu/session/promptLayout';
import { byteToChar } from '../../gpu/tokenizer/byteLevel';
import { TokenType } from '../../gpu/tokenizer/vocab';
import { type ModelSpec, raw, rawGguf, testTempDir, tokenizerMetadata, writeModelGguf } from '../util/ggufFixtures';
import { sharedModelPath } from '../util/paths';
import { headerFields, mutate } from './ggufMutations';

const WORKER_ENV = 'QUEST_LENS_GGUF_FUZZ_WORKER';
const CASES = Number(process.env.QUEST_LENS_FUZZ_CASES ?? 3000);
const SEED = Number(process.env.QUEST_LENS_FUZZ_SEED ?? 1);
/** A case slower than this fails the test (the issue's bound: a clear error within a second). */
const CASE_MS = 1000;
/**
 * The worker's peak RSS over its baseline, a fixed bound however large the mutant files (up to 4 GiB): twice what
 * the reader's cap lets one case make (its estimates leave out the read buffer, the heap's own growth and the
 * allocator's slack; one case was measured at 164 MiB), plus the garbage let pile up before a collection (64 MiB).
 */
const RSS_CAP_MIB = (2 * MAX_HEADER_MEMORY) / 2 ** 20 + 64;
/** No word from the worker for this long: it hangs. */
const WATCHDOG_MS = 20_000;
const SAMPLE = 'function cartTotal(items) {\n  return items.reduce((n, i) => n + i.price, 0); // ünïcödé ✓\n}\n';

interface Fixture {
  readonly name: string;
  readonly path: string;
}

type ToWorker = { readonly fixtures: readonly Fixture[]; readonly cases: number; readonly seed: number; readonly dir: string };
type FromWorker =
  | { readonly type: 'progress'; readonly done: number }
  | {
      readonly type: 'summary';
      readonly outcomes: Record<string, number>;
      readonly failures: readonly string[];
      readonly slowest: { readonly ms: number; readonly what: string };
      readonly maxRssMiB: number;
      /** RSS after loading the fixtures, before the first case. */
      readonly baselineMiB: number;
      readonly seconds: number;
    };

/** What one mutant does when loaded: 'loaded', or the error class; anything else is thrown as a failure. */
async function loadOnHost(path: string): Promise<string> {
  try {
    const { file, tokenizer } = await readModelFile(path);
    const midText = midTextTokenizer(file.metadata);
    promptLayout(tokenizer, midText).question('Where is the cart total computed?');
    const ids = midText.encode(SAMPLE);
    midText.decode(ids);
    tokenizer.decode(tokenizer.encode(SAMPLE));
    return 'loaded';
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    // Errors about the file name it; a chat template's names the template (its source is the file's metadata).
    if (e.name !== 'ChatTemplateError' && !e.message.includes(path)) throw new Error(`${e.name} does not name the file: ${e.message}`);
    return e.name;
  }
}

/** The worker: runs the cases, writing the index of the one it is on to a file before each (read after a crash). */
async function worker(job: ToWorker): Promise<void> {
  const t0 = performance.now();
  const fixtures = await Promise.all(
    job.fixtures.map(async (f) => {
      const bytes = readFileSync(f.path);
      const gguf = await readGguf(f.path);
      const head = bytes.subarray(0, gguf.dataOffset);
      return { ...f, valid: { head, length: bytes.length }, layout: headerFields(head) };
    }),
  );
  const outcomes: Record<string, number> = {};
  const failures: string[] = [];
  let slowest = { ms: 0, what: '' };
  const path = join(job.dir, 'mutant.gguf');
  const current = join(job.dir, 'current-case.txt');
  // Garbage from earlier cases is collected whenever it piles up (live JS and array-buffer memory 64 MiB over the
  // start), so that the peak RSS is one case's allocation over the baseline, not the collector's backlog.
  const collect = globalThis.gc as (() => void) | undefined;
  if (!collect) throw new Error('the fuzz worker needs --expose-gc');
  collect();
  const baseline = process.memoryUsage().rss;
  const live = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const liveBaseline = live();
  for (let i = 0; i < job.cases; i++) {
    const f = fixtures[i % fixtures.length];
    const seed = job.seed * 1_000_003 + i;
    const m = mutate(f.valid, f.layout, seed);
    const what = `case ${i} (${f.name}, seed ${seed}: ${m.ops.join(', ')})`;
    writeFileSync(current, what);
    const fd = openSync(path, 'w');
    writeSync(fd, m.head);
    ftruncateSync(fd, m.length); // the rest: zeros, sparse
    closeSync(fd);
    const c0 = performance.now();
    try {
      const outcome = await loadOnHost(path);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    } catch (e) {
      failures.push(`${what}: ${(e as Error).stack ?? String(e)}`);
    }
    const ms = performance.now() - c0;
    if (ms > slowest.ms) slowest = { ms, what };
    if (live() > liveBaseline + (64 << 20)) collect();
    if (i % 200 === 199) process.send!({ type: 'progress', done: i + 1 } satisfies FromWorker);
  }
  process.send!({
    type: 'summary',
    outcomes,
    failures,
    slowest,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    baselineMiB: baseline / 2 ** 20,
    seconds: (performance.now() - t0) / 1000,
  } satisfies FromWorker);
}

/** Runs `job` in a child process with a watchdog; resolves with its summary, rejects naming the case it died on. */
function runWorker(job: ToWorker): Promise<Extract<FromWorker, { type: 'summary' }>> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, [], { env: { ...process.env, [WORKER_ENV]: '1' }, execArgv: ['--enable-source-maps', '--expose-gc'], stdio: 'inherit' });
    let summary: Extract<FromWorker, { type: 'summary' }> | undefined;
    let timer: NodeJS.Timeout;
    const caseOnDeath = () => {
      try {
        return readFileSync(join(job.dir, 'current-case.txt'), 'utf8');
      } catch {
        return 'before the first case';
      }
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the fuzz worker sent nothing for ${WATCHDOG_MS / 1000} s: it hangs in ${caseOnDeath()}`));
      }, WATCHDOG_MS);
    };
    arm();
    child.on('message', (m: FromWorker) => {
      arm();
      if (m.type === 'summary') summary = m;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (summary && code === 0) resolve(summary);
      else reject(new Error(`the fuzz worker died (${signal ?? `exit code ${code}`}) in ${caseOnDeath()}`));
    });
    child.send(job);
  });
}

if (process.env[WORKER_ENV]) {
  process.once('message', (job: ToWorker) => {
    worker(job).then(
      () => process.disconnect(),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  });
} else {
  const tmp = testTempDir('ql-gguf-fuzz-');

  /** A byte-level BPE vocabulary (the 256 bytes, a few merges, ChatML specials) with a ChatML chat template. */
  function chatmlBpeMetadata(): [string, ReturnType<typeof kv.string>][] {
    const merges = ['Ġ t', 'h e', 'i n', 'Ġt he', 'r e', 'o n', 'Ġ a', 'e r', 'Ġ (', ') ;'];
    const tokens = [...byteToChar, ...merges.map((m) => m.replace(' ', '')), '<|endoftext|>', '<|im_start|>', '<|im_end|>'];
    const types = tokens.map((t) => (t.startsWith('<|') ? TokenType.control : TokenType.normal));
    const template =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
    return [
      ['tokenizer.ggml.model', kv.string('gpt2')],
      ['tokenizer.ggml.pre', kv.string('qwen2')],
      ['tokenizer.ggml.tokens', kv.array('string', tokens)],
      ['tokenizer.ggml.token_type', kv.array('i32', types)],
      ['tokenizer.ggml.merges', kv.array('string', merges)],
      ['tokenizer.ggml.eos_token_id', kv.u32(tokens.indexOf('<|im_end|>'))],
      ['tokenizer.ggml.padding_token_id', kv.u32(tokens.indexOf('<|endoftext|>'))],
      ['tokenizer.ggml.add_bos_token', kv.bool(false)],
      ['tokenizer.chat_template', kv.string(template)],
    ];
  }

  async function fixtures(): Promise<Fixture[]> {
    const stories = sharedModelPath('stories260K.gguf');
    const storiesTokenizer = tokenizerMetadata(await readGguf(stories));
    const bpe = chatmlBpeMetadata();
    const qwen2: ModelSpec = {
      architecture: 'qwen2', layers: 2, dim: 32, ffn: 64, heads: 2, kvHeads: 1, headDim: 16, vocab: (bpe[2][1].value as string[]).length,
      contextLength: 256, normEps: 1e-6, ropeTheta: 1e6, qkvBias: true, tiedEmbeddings: true, extraMetadata: bpe,
    };
    const llama: ModelSpec = {
      architecture: 'llama', layers: 2, dim: 64, ffn: 256, heads: 4, kvHeads: 2, headDim: 16, vocab: 512, contextLength: 512,
      normEps: 1e-5, ropeTheta: 5e5, writeKeyLength: true, tiedEmbeddings: false, linearRopeFactor: 2,
      ropeFreqs: Float32Array.from({ length: 8 }, (_, i) => 1 + i), matrixTypes: (_name, ne0) => (ne0 % 256 === 0 ? GgmlType.Q4_K : GgmlType.Q8_0),
      extraMetadata: storiesTokenizer,
    };
    const qwen3: ModelSpec = {
      architecture: 'qwen3', layers: 1, dim: 64, ffn: 128, heads: 4, kvHeads: 2, headDim: 32, vocab: 512, contextLength: 1024,
      normEps: 1e-6, ropeTheta: 1e6, qkNorm: true, tiedEmbeddings: true, matrixType: GgmlType.F16, extraMetadata: storiesTokenizer,
    };
    const out: Fixture[] = [{ name: 'stories260K', path: stories }];
    for (const [name, spec] of [['qwen2-bpe-chatml', qwen2], ['llama-ropefreqs-q8-q4k', llama], ['qwen3-qknorm-f16', qwen3]] as const) {
      const path = join(tmp, `${name}.gguf`);
      await writeModelGguf(path, spec, 'zeros');
      out.push({ name, path });
    }
    return out;
  }

  test(`${CASES} seeded mutations of valid model files each load or fail with a clear error, within ${CASE_MS} ms, in bounded memory`, async () => {
    const fx = await fixtures();
    // Every fixture loads unmutated: a failure below is the mutation's.
    for (const f of fx) assert.equal(await loadOnHost(f.path), 'loaded', `${f.name} loads`);
    const s = await runWorker({ fixtures: fx, cases: CASES, seed: SEED, dir: tmp });
    const total = Object.values(s.outcomes).reduce((a, b) => a + b, 0) + s.failures.length;
    console.log(
      `# ${total} cases (seed ${SEED}) over ${fx.map((f) => f.name).join(', ')} in ${s.seconds.toFixed(1)} s: ` +
        `${Object.entries(s.outcomes).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
        `slowest ${s.slowest.ms.toFixed(0)} ms (${s.slowest.what}); worker peak RSS ${s.maxRssMiB.toFixed(0)} MiB, ` +
        `${(s.maxRssMiB - s.baselineMiB).toFixed(0)} MiB over its baseline`,
    );
    assert.equal(total, CASES);
    assert.deepEqual(s.failures.slice(0, 5), [], `${s.failures.length} cases failed with something other than an EngineError`);
    assert.ok(s.slowest.ms < CASE_MS, `slowest case took ${s.slowest.ms.toFixed(0)} ms: ${s.slowest.what}`);
    const grew = s.maxRssMiB - s.baselineMiB;
    assert.ok(grew < RSS_CAP_MIB, `the worker's peak RSS was ${grew.toFixed(0)} MiB over its baseline (cap ${RSS_CAP_MIB})`);
    // The series reaches both ends: most mutants are rejected, some load, and the reader's cap is what stops some.
    assert.ok((s.outcomes.GgufError ?? 0) > CASES / 3, 'most mutants are rejected by the reader');
    assert.ok((s.outcomes.loaded ?? 0) > 0, 'some mutants are benign and load');
  });

  test('counts a multi-GB file can back stop at the reader\'s memory cap before anything is allocated', async () => {
    const STRING = 8;
    const ARRAY = 9;
    const BOOL = 7;
    const cases: [string, Uint8Array, RegExp][] = [
      // 400M bools: 400 MB in the file, 3.6 GB as a JS boolean array.
      ['bools', rawGguf({ kvs: [raw.kv('x.flags', ARRAY, Buffer.concat([raw.u32(BOOL), raw.u64(400_000_000)]))] }), /array of 400000000 bool items for 'x\.flags' would take the parsed header to \d+ MiB of host memory, over the reader's cap of 128 MiB/],
      // 100M empty strings: 800 MB in the file; one JS slot each plus the array.
      ['strings', rawGguf({ kvs: [raw.kv('tokenizer.ggml.tokens', ARRAY, Buffer.concat([raw.u32(STRING), raw.u64(100_000_000)]))] }), /array of 100000000 string items for 'tokenizer\.ggml\.tokens' would take/],
      // 10M nested arrays, each an empty u8 array (12 zero bytes in the sparse file): the outer array's slots fit the
      // cap, the array objects read one by one do not.
      ['nested', rawGguf({ kvs: [raw.kv('x.nest', ARRAY, Buffer.concat([raw.u32(ARRAY), raw.u64(10_000_000)]))] }), /array of 0 u8 items for 'x\.nest\[\d+\]' would take the parsed header to \d+ MiB of host memory/],
    ];
    for (const [name, head, problem] of cases) {
      const path = join(tmp, `cap-${name}.gguf`);
      const fd = openSync(path, 'w');
      writeSync(fd, head);
      ftruncateSync(fd, 1.5 * 2 ** 30); // sparse: the counts fit the file's size
      closeSync(fd);
      const rss0 = process.memoryUsage().rss;
      const t0 = performance.now();
      await assert.rejects(readGguf(path), (e: unknown) => e instanceof GgufError && e.message.startsWith(`${path}: `) && problem.test(e.message));
      const ms = performance.now() - t0;
      const grewMiB = (process.memoryUsage().rss - rss0) / 2 ** 20;
      console.log(`# ${name}: rejected in ${ms.toFixed(0)} ms, RSS grew ${grewMiB.toFixed(0)} MiB`);
      assert.ok(ms < CASE_MS, `${name}: ${ms.toFixed(0)} ms`);
      assert.ok(grewMiB < MAX_HEADER_MEMORY / 2 ** 20 + 64, `${name}: RSS grew ${grewMiB.toFixed(0)} MiB`);
    }
  });

  test('a named pipe given as the model file is refused, not waited on', async () => {
    const pipe = join(tmp, 'model.gguf.pipe');
    execFileSync('mkfifo', [pipe]);
    await assert.rejects(readModelFile(pipe), (e: unknown) => e instanceof GgufError && e.message === `${pipe}: not a regular file`);
  });
}
