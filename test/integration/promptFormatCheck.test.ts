// A GGUF that names its prompt format (`questlens.prompt_format`, as the built-in model does) is asked in that format
// by the workspace session; one naming a format this engine does not know is refused at load, naming the file and
// the format, before any weight reaches the GPU (it would otherwise be asked in the wrong format and answer nonsense).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { type Gpu, openGpu } from '../../gpu/device';
import { readGguf } from '../../gpu/gguf/reader';
import { kv } from '../../gpu/gguf/writer';
import { ModelFileError } from '../../gpu/session/errors';
import { WorkspaceSession } from '../../gpu/session/workspaceSession';
import { type ModelSpec, testTempDir, tokenizerMetadata, writeModelGguf } from '../util/ggufFixtures';
import { readerSettings, stories, workspaceCopy } from './askFixture';

const tmp = testTempDir('quest-lens-prompt-format-');
const ws = workspaceCopy('ql-prompt-format-');
after(() => rmSync(dirname(ws), { recursive: true, force: true }));
let gpu: Gpu;
let spec: (format: string) => ModelSpec;

before(async () => {
  gpu = await openGpu();
  const tokenizer = tokenizerMetadata(await readGguf(stories));
  spec = (format) => ({
    architecture: 'llama', layers: 1, dim: 32, ffn: 64, heads: 2, kvHeads: 1, headDim: 16, vocab: 512, contextLength: 256,
    normEps: 1e-5, ropeTheta: 1e4, tiedEmbeddings: true,
    extraMetadata: [...tokenizer, ['questlens.prompt_format', kv.string(format)]],
  });
});
after(() => gpu?.dispose());

test('a model naming quest-lens-qa-1 loads and is asked "// Q: …\\n// A:"; an unknown format is refused by name', async () => {
  const known = join(tmp, 'qa1.gguf');
  await writeModelGguf(known, spec('quest-lens-qa-1'), 'zeros');
  const session = new WorkspaceSession(async () => gpu, { kvCacheDir: null });
  try {
    await session.loadModel({ path: known, maxContext: 256, pageSize: 16 });
    await session.buildContext({ folders: [{ name: 'ask', path: ws }], reader: readerSettings, question: '', reserveTokens: 64 });
    await session.prefill();
    const r = await session.answer({
      question: 'Where is `cartTotal` defined?',
      decode: { mode: 'dense', tokenBudget: 64, denseLayers: 1, aggregation: 'sum', temperature: 0, maxAnswerTokens: 1, seed: 0 },
    });
    const context = session.contextTokens!.length;
    const question = session.engine!.tokenizer.decode(r.trace.promptTokens.slice(context));
    assert.equal(question.trimStart(), '// Q: Where is `cartTotal` defined?\n// A:');
  } finally {
    session.dispose();
  }

  const unknown = join(tmp, 'qa9.gguf');
  await writeModelGguf(unknown, spec('quest-lens-qa-9'), 'zeros');
  const other = new WorkspaceSession(async () => gpu, { kvCacheDir: null });
  try {
    await assert.rejects(
      other.loadModel({ path: unknown, maxContext: 256, pageSize: 16 }),
      (e: Error) =>
        e instanceof ModelFileError &&
        e.message === `model file ${unknown} names the prompt format 'quest-lens-qa-9' (questlens.prompt_format), which this engine does not know (it knows quest-lens-qa-1): use a Quest Lens version made for this model`,
    );
    assert.equal(other.engine, undefined, 'no model was loaded');
  } finally {
    other.dispose();
  }
});
