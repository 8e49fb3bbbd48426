// extension/models/discover.ts and modelFile.ts: GGUF models found in Ollama's store (manifest → model layer blob),
// LM Studio's folders and the Hugging Face hub cache, against store layouts made in a temp dir at run time; and the
// GGUF magic check that gives a missing or wrong file a clear error.
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  discoverModels,
  huggingFaceModels,
  isLoadableGgufName,
  lmStudioModels,
  modelDisplayName,
  ollamaModels,
  storeRoots,
} from '../../extension/models/discover';
import { checkModelFile } from '../../extension/models/modelFile';
import { ModelFileError } from '../../extension/errors';
import { writeTree } from './contextFixtures';

const home = realpathSync(mkdtempSync(join(tmpdir(), 'quest-lens-models-')));
after(() => rmSync(home, { recursive: true, force: true }));

/** A GGUF-looking file of `n` bytes (the magic, then zeros). */
const gguf = (n = 64) => Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(n - 4)]);
const hex = (c: string) => c.repeat(64);
const manifest = (layers: Array<{ mediaType: string; digest: string }>) => JSON.stringify({ schemaVersion: 2, layers });
const MODEL = 'application/vnd.ollama.image.model';

writeTree(join(home, '.ollama', 'models'), {
  manifests: {
    'registry.ollama.ai': {
      library: {
        'llama3.2': {
          '1b': manifest([
            { mediaType: 'application/vnd.ollama.image.template', digest: `sha256:${hex('c')}` },
            { mediaType: MODEL, digest: `sha256:${hex('a')}` },
          ]),
          latest: manifest([{ mediaType: MODEL, digest: `sha256:${hex('a')}` }]), // the same blob: listed once
        },
        qwen3: { '0.6b': manifest([{ mediaType: MODEL, digest: `sha256:${hex('b')}` }]) },
        embed: { latest: manifest([{ mediaType: 'application/vnd.ollama.image.projector', digest: `sha256:${hex('d')}` }]) },
        broken: { latest: '{not json' },
        missing: { latest: manifest([{ mediaType: MODEL, digest: `sha256:${hex('e')}` }]) },
      },
      someone: { coder: { q4: manifest([{ mediaType: MODEL, digest: `sha256:${hex('f')}` }]) } },
    },
    'hf.co': { org: { 'Tiny-GGUF': { Q8_0: manifest([{ mediaType: MODEL, digest: `sha256:${hex('1')}` }]) } } },
  },
  blobs: {
    [`sha256-${hex('a')}`]: gguf(100),
    [`sha256:${hex('b')}`]: gguf(200), // the older blob naming
    [`sha256-${hex('c')}`]: 'template',
    [`sha256-${hex('d')}`]: gguf(),
    [`sha256-${hex('f')}`]: gguf(300),
    [`sha256-${hex('1')}`]: gguf(400),
  },
});

writeTree(join(home, '.lmstudio', 'models'), {
  'lmstudio-community': {
    'Qwen3-0.6B-GGUF': { 'Qwen3-0.6B-Q8_0.gguf': gguf(500), 'mmproj-Qwen3-F16.gguf': gguf(), 'README.md': 'x' },
    'Big-GGUF': { 'Big-Q4_K_M-00001-of-00002.gguf': gguf(), 'Big-Q4_K_M-00002-of-00002.gguf': gguf() },
  },
  'deep': { a: { b: { c: { 'too-deep.gguf': gguf() } } } },
});
writeTree(join(home, '.cache', 'lm-studio', 'models'), { old: { repo: { 'Old.GGUF': gguf(600) } } });

const hub = join(home, '.cache', 'huggingface', 'hub');
writeTree(hub, {
  'models--bartowski--Llama-3.2-1B-Instruct-GGUF': {
    blobs: { b1: gguf(700), b2: gguf(800) },
    snapshots: {
      rev1: { 'Llama-3.2-1B-Instruct-Q8_0.gguf': { symlink: '../../blobs/b1' } },
      rev2: {
        'Llama-3.2-1B-Instruct-Q8_0.gguf': { symlink: '../../blobs/b1' },
        sub: { 'Llama-3.2-1B-Instruct-Q4_K_M.gguf': { symlink: '../../../blobs/b2' } },
        'dangling.gguf': { symlink: '../../blobs/none' },
        'config.json': '{}',
      },
    },
  },
  'datasets--x--y': { snapshots: { r: { 'data.gguf': gguf() } } },
});

const roots = storeRoots(home, {});

test('storeRoots: the default folders, and OLLAMA_MODELS / HF_HOME / HF_HUB_CACHE overrides', () => {
  assert.deepEqual(roots, {
    ollama: [join(home, '.ollama', 'models')],
    lmstudio: [join(home, '.lmstudio', 'models'), join(home, '.cache', 'lm-studio', 'models')],
    huggingface: [hub],
  });
  assert.deepEqual(storeRoots('/h', { OLLAMA_MODELS: '/o', HF_HOME: '/hf' }).huggingface, ['/hf/hub']);
  assert.deepEqual(storeRoots('/h', { OLLAMA_MODELS: '/o', HF_HOME: '/hf' }).ollama, ['/o']);
  assert.deepEqual(storeRoots('/h', { HF_HOME: '/hf', HF_HUB_CACHE: '/cache' }).huggingface, ['/cache']);
});

test('Ollama: the model layer blob of each manifest, under Ollama\'s own names', async () => {
  const found = await ollamaModels(roots.ollama[0]);
  assert.deepEqual(
    found.map((m) => [m.label, m.path.slice(home.length), m.bytes]),
    [
      ['hf.co/org/Tiny-GGUF:Q8_0', `/.ollama/models/blobs/sha256-${hex('1')}`, 400],
      ['llama3.2:1b', `/.ollama/models/blobs/sha256-${hex('a')}`, 100],
      ['llama3.2:latest', `/.ollama/models/blobs/sha256-${hex('a')}`, 100],
      ['qwen3:0.6b', `/.ollama/models/blobs/sha256:${hex('b')}`, 200],
      ['someone/coder:q4', `/.ollama/models/blobs/sha256-${hex('f')}`, 300],
    ],
  );
  assert.ok(found.every((m) => m.source === 'ollama'));
});

test('LM Studio: .gguf files of both folders; projectors, split parts and non-GGUF files left out', async () => {
  const a = await lmStudioModels(roots.lmstudio[0]);
  assert.deepEqual(
    a.map((m) => [m.label, m.bytes]),
    [['lmstudio-community/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf', 500]],
  );
  const b = await lmStudioModels(roots.lmstudio[1]);
  assert.deepEqual(
    b.map((m) => m.label),
    ['old/repo/Old.GGUF'],
  );
});

test('Hugging Face cache: snapshot files through their blob links, one per name across revisions, dangling links skipped', async () => {
  const found = await huggingFaceModels(hub);
  assert.deepEqual(
    found.map((m) => [m.label, m.bytes]).sort(),
    [
      ['bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q8_0.gguf', 700],
      ['bartowski/Llama-3.2-1B-Instruct-GGUF/sub/Llama-3.2-1B-Instruct-Q4_K_M.gguf', 800],
    ],
  );
});

test('discoverModels: every store, each real file once, sorted by source then label; missing stores are empty', async () => {
  const all = await discoverModels(roots);
  assert.deepEqual(
    all.map((m) => `${m.source}:${m.label}`),
    [
      'ollama:hf.co/org/Tiny-GGUF:Q8_0',
      'ollama:llama3.2:1b', // llama3.2:latest is the same blob
      'ollama:qwen3:0.6b',
      'ollama:someone/coder:q4',
      'lmstudio:lmstudio-community/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf',
      'lmstudio:old/repo/Old.GGUF',
      'huggingface:bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q8_0.gguf',
      'huggingface:bartowski/Llama-3.2-1B-Instruct-GGUF/sub/Llama-3.2-1B-Instruct-Q4_K_M.gguf',
    ],
  );
  assert.deepEqual(await discoverModels(storeRoots(join(home, 'nobody'), {})), []);
});

test('isLoadableGgufName and modelDisplayName', () => {
  assert.equal(isLoadableGgufName('a.gguf'), true);
  assert.equal(isLoadableGgufName('A.GGUF'), true);
  assert.equal(isLoadableGgufName('mmproj-model-f16.gguf'), false);
  assert.equal(isLoadableGgufName('m-00001-of-00003.gguf'), false);
  assert.equal(isLoadableGgufName('m.gguf.part'), false);
  assert.equal(modelDisplayName('/m/stories260K.gguf'), 'stories260K');
  assert.equal(modelDisplayName('/b/sha256-abc', 'llama3.2:1b'), 'llama3.2:1b');
  assert.equal(modelDisplayName('/b/sha256-abc'), 'sha256-abc');
});

test('checkModelFile: a GGUF file passes; missing, folder, empty and non-GGUF files fail saying so', async () => {
  writeTree(home, { files: { 'ok.gguf': gguf(), 'empty.gguf': '', 'text.gguf': 'hello world' } });
  await checkModelFile(join(home, 'files', 'ok.gguf'));
  const fails = async (name: string, why: RegExp) =>
    assert.rejects(checkModelFile(join(home, 'files', name)), (e: unknown) => e instanceof ModelFileError && why.test(e.message) && /Select Model/.test(e.message));
  await fails('nope.gguf', /does not exist/);
  await fails('', /is a folder, not a file|is not a file/);
  await fails('empty.gguf', /is not a GGUF file \(it starts with "", a GGUF file with "GGUF"\)/);
  await fails('text.gguf', /is not a GGUF file \(it starts with "hell"/);
});
