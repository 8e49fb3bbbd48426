// The default model's exporter: the trainer's checkpoint format (written here by model/train/ckpt.py, in Python),
// the GGUF it becomes, and the architecture conventions both sides must share. The plain-Python forward pass
// (model/train/reference.py, what the PyTorch model is checked against on the GPU machine) must give the engine's
// float64 reference logits on the exported file: that pins RoPE's pairing, GQA's head mapping, tied embeddings and
// every tensor's layout. Also: the p50k tokenizer inside the GGUF gives gpt-tokenizer's ids on the corpus's text.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createHash } from 'node:crypto';
import { encode as p50kEncode } from 'gpt-tokenizer/encoding/p50k_base';
import { readGguf, readTensorData } from '../../gpu/gguf/reader';
import { readModelConfig } from '../../gpu/model/config';
import { dequantizeRows } from '../../gpu/quant/codec';
import { ReferenceModel } from '../../gpu/reference/forward';
import { packerTokenizer } from '../../gpu/session/contextTokenizer';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';
import { CheckpointError, readCheckpoint } from '../../model/export/checkpoint';
import {
  MAX_MODEL_BYTES,
  RECOMMENDED_ATTENTION_LAYERS,
  RECOMMENDED_DENSE_LAYERS,
  RECOMMENDED_PAGE_SIZE,
  exportGguf,
  ntkRopeTheta,
  quantPlans,
} from '../../model/export/ggufExport';
import { packPackage } from '../../model/corpus/packagePacker';
import { promptFormatId } from '../../model/corpus/promptFormat';
import { jsWhitespaceDiffers } from '../util/tokenizerCorpus';
import { repoRoot } from '../util/paths';
import { rng } from '../util/random';

const tmp = mkdtempSync(join(tmpdir(), 'quest-lens-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const small = { layers: 2, dim: 64, ffn: 256, heads: 4, kvHeads: 2, headDim: 16, vocab: 50281, normEps: 1e-5, ropeTheta: 10000, contextLength: 256 };

function python(args: string[]): string {
  const r = spawnSync('python3', [join(repoRoot, 'model/train/reference.py'), ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `reference.py ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
}

function randomCheckpoint(name: string, seed: number, dtypes: string, scale = 1): string {
  const dir = join(tmp, name);
  python(['random', dir, '--config', JSON.stringify(small), '--seed', String(seed), '--dtypes', dtypes, '--scale', String(scale)]);
  return dir;
}

async function referenceLogits(gguf: string, tokens: readonly number[]): Promise<Float64Array> {
  const file = await readGguf(gguf);
  const cfg = readModelConfig(file);
  const weights = new Map<string, Float64Array>();
  for (const t of file.tensors) weights.set(t.name, dequantizeRows(t.type, await readTensorData(file, t), t.elements / t.dims[0], t.dims[0]));
  const model = new ReferenceModel(cfg, (n) => weights.get(n)!);
  let logits: Float64Array = new Float64Array();
  for (const t of tokens) logits = model.forward(t);
  return logits;
}

test('checkpoint (Python) → GGUF (F32): plain-Python forward == the engine\'s float64 reference forward', async () => {
  // Mixed transport types: q8_0 embeddings, bf16 queries, f32 elsewhere (all decode exactly to F32).
  const dir = randomCheckpoint('mixed-dtypes', 3, 'token_embd.weight=q8_0,attn_q.weight=bf16,ffn_up.weight=q8_0');
  const tokens = [7, 1000, 50256, 318, 2000, 13];
  const py = JSON.parse(python(['forward', dir, '--tokens', tokens.join(',')])) as { lastLogits: number[]; argmax: number[] };
  const gguf = join(tmp, 'mixed-f32.gguf');
  const report = await exportGguf(readCheckpoint(dir), gguf, { plan: quantPlans.f32 });
  assert.ok(report.tensors.every((t) => t.relativeError === 0), 'F32 export is exact');
  const ref = await referenceLogits(gguf, tokens);
  assert.equal(ref.length, py.lastLogits.length);
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    worst = Math.max(worst, Math.abs(ref[i] - py.lastLogits[i]));
    scale = Math.max(scale, Math.abs(ref[i]));
  }
  assert.ok(scale > 1, `logits are not trivial (max |logit| ${scale})`);
  assert.ok(worst < 1e-9 * (1 + scale), `max |Δlogit| between reference.py and gpu/reference/forward.ts is ${worst}`);
});

test('--kv-heads: each KV head written once per query head computes exactly the logits of the shared heads; bad counts refused', async () => {
  const dir = randomCheckpoint('kv-heads', 5, '');
  const tokens = [7, 1000, 50256, 318, 2000, 13, 99, 4242];
  const shared = join(tmp, 'kv2.gguf');
  const expanded = join(tmp, 'kv4.gguf');
  await exportGguf(readCheckpoint(dir), shared, { plan: quantPlans.mixed });
  await exportGguf(readCheckpoint(dir), expanded, { plan: quantPlans.mixed, kvHeads: 4 });
  const cfg = readModelConfig(await readGguf(expanded));
  assert.deepEqual([cfg.heads, cfg.kvHeads], [4, 4]);
  // Row-wise quantization: a repeated head quantizes to the same blocks, so the logits agree to float64 rounding.
  const a = await referenceLogits(shared, tokens);
  const b = await referenceLogits(expanded, tokens);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst < 1e-9, `max |Δlogit| ${worst}`);
  for (const kvHeads of [3, 8, 1]) {
    await assert.rejects(exportGguf(readCheckpoint(dir), join(tmp, 'bad.gguf'), { kvHeads }), (e: Error) =>
      e instanceof CheckpointError && new RegExp(`kvHeads ${kvHeads} must be a multiple of the checkpoint's 2 KV heads that divides its 4 query heads`).test(e.message));
  }
});

test('--rope-scale: the file\'s rope.freq_base is θ·s^(d/(d−2)) (NTK-aware), the weights unchanged; a scale below 1 refused', async () => {
  const dir = randomCheckpoint('rope-scale', 6, '');
  const scaled = join(tmp, 'rope2.gguf');
  const plainFile = join(tmp, 'rope1.gguf');
  await exportGguf(readCheckpoint(dir), scaled, { plan: quantPlans.f32, ropeScale: 2 });
  await exportGguf(readCheckpoint(dir), plainFile, { plan: quantPlans.f32 });
  const file = await readGguf(scaled);
  const theta = file.metadata.get('llama.rope.freq_base') as number;
  assert.equal(theta, Math.fround(ntkRopeTheta(10000, 16, 2)));
  assert.ok(Math.abs(theta - 10000 * 2 ** (16 / 14)) < 0.01, `θ ${theta}`);
  assert.equal(readModelConfig(file).rope.theta, theta);
  const plain = await readGguf(plainFile);
  assert.equal(plain.metadata.get('llama.rope.freq_base'), 10000, 'no --rope-scale: the checkpoint\'s θ');
  for (const t of plain.tensors) {
    const other = file.tensors.find((x) => x.name === t.name)!;
    assert.deepEqual(await readTensorData(file, other), await readTensorData(plain, t), `${t.name}: the same bytes`);
  }
  await assert.rejects(exportGguf(readCheckpoint(dir), join(tmp, 'bad.gguf'), { ropeScale: 0.5 }), /ropeScale 0.5 must be a number >= 1/);
});

/** One small checkpoint exported with plan 'mixed', shared by the tests below. */
let mixedGguf: Promise<string> | undefined;
function smallMixedGguf(): Promise<string> {
  mixedGguf ??= (async () => {
    const gguf = join(tmp, 'small-mixed.gguf');
    await exportGguf(readCheckpoint(randomCheckpoint('small', 4, '')), gguf, { plan: quantPlans.mixed });
    return gguf;
  })();
  return mixedGguf;
}

test('GGUF metadata: llama architecture, p50k_base as a gpt2 vocabulary, no chat template, the prompt format, page size and layer recommendations named', async () => {
  const gguf = await smallMixedGguf();
  const file = await readGguf(gguf);
  const cfg = readModelConfig(file);
  assert.deepEqual(
    [cfg.architecture, cfg.layers, cfg.dim, cfg.ffn, cfg.heads, cfg.kvHeads, cfg.headDim, cfg.vocab, cfg.contextLength, cfg.rope.style, cfg.rope.theta, cfg.tiedEmbeddings],
    ['llama', 2, 64, 256, 4, 2, 16, 50281, 256, 'normal', 10000, true],
  );
  assert.equal(file.metadata.get('tokenizer.ggml.model'), 'gpt2');
  assert.equal(file.metadata.get('tokenizer.ggml.pre'), 'gpt-2');
  assert.equal(file.metadata.get('tokenizer.chat_template'), undefined);
  assert.equal(file.metadata.get('questlens.prompt_format'), promptFormatId);
  // The recommended Quest page size: written as a u32, read back by the engine's config.
  assert.deepEqual([file.metadata.get('questlens.page_size'), file.metadataTypes.get('questlens.page_size'), cfg.recommendedPageSize], [4, 'u32', RECOMMENDED_PAGE_SIZE]);
  // The layer recommendations, measured on the 8-layer shape: this 2-layer checkpoint gets them clamped to its layers.
  assert.deepEqual([file.metadataTypes.get('questlens.dense_layers'), file.metadataTypes.get('questlens.attention_layers')], ['u32', 'u32']);
  assert.deepEqual([cfg.recommendedDenseLayers, cfg.recommendedAttentionLayers], [2, 2]);
  const tok = createTokenizer(file.metadata);
  assert.deepEqual([tok.vocabSize, tok.eos, tok.addBos, tok.chatTemplate], [50281, 50256, false, undefined]);
  // Plan 'mixed': Q8_0 embeddings and attention, Q4_0 FFN inputs, Q6_K ffn_down (rows of 256), F32 norms.
  const types = Object.fromEntries(file.tensors.map((t) => [t.name, t.type]));
  assert.deepEqual(
    [types['token_embd.weight'], types['blk.0.attn_q.weight'], types['blk.0.ffn_gate.weight'], types['blk.0.ffn_down.weight'], types['blk.0.attn_norm.weight']],
    [8, 8, 2, 14, 0],
  );
});

test('the tokenizer inside the exported GGUF gives gpt-tokenizer\'s p50k ids on corpus text (packages from node_modules)', async () => {
  const gguf = await smallMixedGguf();
  const tok = createTokenizer((await readGguf(gguf)).metadata);
  // Packages the corpus could hold, packed exactly as the corpus builder packs them.
  let files = 0;
  let tokens = 0;
  for (const pkg of ['ignore', '@huggingface/jinja', 'gpt-tokenizer']) {
    const root = join(repoRoot, 'node_modules', pkg);
    const list: { path: string; bytes: Uint8Array }[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(join(root, rel))) {
        const p = rel ? `${rel}/${name}` : name;
        if (statSync(join(root, p)).isDirectory()) walk(p);
        else list.push({ path: p, bytes: readFileSync(join(root, p)) });
      }
    };
    walk('');
    const packed = await packPackage(pkg, { files: list, skipped: [] }, packerTokenizer(tok), new Set(), 300_000);
    for (const f of packed.files) {
      const framed = `// File: ${pkg}/${f.relPath}\n${f.text}${f.text.endsWith('\n') ? '' : '\n'}`;
      // gpt-tokenizer splits U+FEFF and U+0085 by JavaScript's \s, llama.cpp and the engine by Unicode White_Space.
      if (jsWhitespaceDiffers(framed)) continue;
      const want = p50kEncode(framed, { disallowedSpecial: new Set() });
      const at = want.findIndex((id, i) => id !== f.tokens[i]);
      assert.ok(at < 0 && want.length === f.tokens.length, `${pkg}/${f.relPath}: first difference at token ${at}`);
      files++;
      tokens += want.length;
    }
  }
  assert.ok(files > 30 && tokens > 100_000, `${files} files, ${tokens} tokens compared: too few`);
});

test('the default model\'s shape exports under 32 MiB with plan mixed, and loads', async () => {
  // A checkpoint of the real shape written directly (q8_0 transport, random blocks): 8 layers, d 384, 6/2 heads.
  const config = { ...small, layers: 8, dim: 384, ffn: 1024, heads: 6, kvHeads: 2, headDim: 64, contextLength: 16384 };
  const dir = join(tmp, 'full-shape');
  mkdirSync(dir);
  const r = rng(9);
  const shapes: [string, number[]][] = [['token_embd.weight', [config.vocab, config.dim]], ['output_norm.weight', [config.dim]]];
  for (let i = 0; i < config.layers; i++) {
    const q = config.heads * config.headDim;
    const kv = config.kvHeads * config.headDim;
    shapes.push(
      [`blk.${i}.attn_norm.weight`, [config.dim]], [`blk.${i}.attn_q.weight`, [q, config.dim]], [`blk.${i}.attn_k.weight`, [kv, config.dim]],
      [`blk.${i}.attn_v.weight`, [kv, config.dim]], [`blk.${i}.attn_output.weight`, [config.dim, q]], [`blk.${i}.ffn_norm.weight`, [config.dim]],
      [`blk.${i}.ffn_gate.weight`, [config.ffn, config.dim]], [`blk.${i}.ffn_up.weight`, [config.ffn, config.dim]], [`blk.${i}.ffn_down.weight`, [config.dim, config.ffn]],
    );
  }
  const chunks: Buffer[] = [];
  const tensors = [];
  let offset = 0;
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Buffer;
    if (shape.length === 1) {
      data = Buffer.alloc(4 * n);
      for (let i = 0; i < n; i++) data.writeFloatLE(1, 4 * i);
    } else {
      data = Buffer.alloc((n / 32) * 34);
      for (let b = 0; b < n / 32; b++) {
        data.writeUInt16LE(0x1400, b * 34); // f16 0.00098
        for (let i = 0; i < 32; i++) data.writeInt8(Math.floor(r() * 255) - 127, b * 34 + 2 + i);
        // As the encoder writes blocks: the largest magnitude is ±127 (which makes re-encoding as Q8_0 exact).
        data.writeInt8(r() < 0.5 ? 127 : -127, b * 34 + 2 + Math.floor(r() * 32));
      }
    }
    tensors.push({ name, dtype: shape.length === 1 ? 'f32' : 'q8_0', shape, offset, bytes: data.length });
    chunks.push(data);
    offset += data.length;
  }
  const blob = Buffer.concat(chunks);
  const parts = [];
  for (let at = 0, k = 0; at < blob.length; at += 16 << 20, k++) {
    const part = blob.subarray(at, Math.min(blob.length, at + (16 << 20)));
    const file = `weights-${String(k).padStart(2, '0')}.bin`;
    writeFileSync(join(dir, file), part);
    parts.push({ file, bytes: part.length, sha256: createHash('sha256').update(part).digest('hex') });
  }
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'quest-lens-checkpoint', version: 1, config, tensors, parts, training: { step: 1 } }));
  const gguf = join(tmp, 'full.gguf');
  const report = await exportGguf(readCheckpoint(dir), gguf, { plan: quantPlans.mixed, maxBytes: MAX_MODEL_BYTES });
  assert.ok(report.fileBytes <= MAX_MODEL_BYTES, `${report.fileBytes} bytes`);
  assert.equal(statSync(gguf).size, report.fileBytes);
  const embd = report.tensors.find((t) => t.name === 'token_embd.weight')!;
  assert.equal(embd.relativeError, 0, 'q8_0 transport → Q8_0 GGUF is lossless');
  const cfg = readModelConfig(await readGguf(gguf));
  assert.deepEqual([cfg.layers, cfg.dim, cfg.vocab, cfg.contextLength], [8, 384, 50281, 16384]);
  // The default model's shape carries the measured recommendations unclamped: 4 dense layers, attention from the last 2.
  assert.deepEqual([cfg.recommendedDenseLayers, cfg.recommendedAttentionLayers], [RECOMMENDED_DENSE_LAYERS, RECOMMENDED_ATTENTION_LAYERS]);
  assert.deepEqual([RECOMMENDED_DENSE_LAYERS, RECOMMENDED_ATTENTION_LAYERS], [4, 2]);
  // Plan q8 does not fit: the exporter refuses and leaves no file.
  await assert.rejects(exportGguf(readCheckpoint(dir), join(tmp, 'big.gguf'), { plan: quantPlans.q8, maxBytes: MAX_MODEL_BYTES }), /over the 33554432-byte limit/);
  assert.throws(() => statSync(join(tmp, 'big.gguf')));

  // A damaged part is found before anything is decoded.
  const bad = Buffer.from(readFileSync(join(dir, 'weights-01.bin')));
  bad[12345] ^= 0xff;
  writeFileSync(join(dir, 'weights-01.bin'), bad);
  assert.throws(() => readCheckpoint(dir), (e: unknown) => e instanceof CheckpointError && /part weights-01\.bin has .* sha256/.test(e.message));
});
