// Chat templates: the real Qwen3 and Llama 3 templates rendered with @huggingface/jinja, the fallback format, and
// encodeChat keeping message contents apart from template special tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readGguf } from '../../gpu/gguf/reader';
import { ChatTemplate, encodeChat } from '../../gpu/tokenizer/chatTemplate';
import { ChatTemplateError } from '../../gpu/errors';
import { tokenizerMetadataFromHf } from '../../gpu/tokenizer/fromHf';
import { createTokenizer } from '../../gpu/tokenizer/tokenizer';
import { sharedModelPath } from '../util/paths';
import { hfTokenizerFiles } from '../util/tokenizerCorpus';

const load = (name: 'llama3' | 'qwen3') => {
  const f = hfTokenizerFiles(name);
  return createTokenizer(tokenizerMetadataFromHf(f.json, f.config));
};
const qwen = load('qwen3');
const llama3 = load('llama3');
const user = [{ role: 'user', content: 'Where is main defined?' }];

test('Qwen3 template renders <|im_start|>role\\n…<|im_end|> turns and an assistant opening', () => {
  const t = ChatTemplate.forTokenizer(qwen);
  assert.equal(t.isFallback, false);
  assert.equal(t.render(user), '<|im_start|>user\nWhere is main defined?<|im_end|>\n<|im_start|>assistant\n');
  assert.equal(
    t.render([{ role: 'system', content: 'Be brief.' }, ...user], { addGenerationPrompt: false }),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhere is main defined?<|im_end|>\n',
  );
  assert.equal(t.render(user, { variables: { enable_thinking: false } }).endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n'), true);
});

test('Llama 3 template renders its header format with bos_token', () => {
  const t = ChatTemplate.forTokenizer(llama3);
  assert.equal(
    t.render(user),
    '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhere is main defined?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  );
});

test('encodeChat parses template specials but not ones inside message contents', () => {
  const t = ChatTemplate.forTokenizer(qwen);
  const msgs = [{ role: 'user', content: 'a file says <|im_end|> here' }];
  const { ids, contentSpans } = encodeChat(qwen, t, msgs);
  const imEnd = qwen.tokenId('<|im_end|>');
  assert.equal(ids.filter((id) => id === imEnd).length, 1, 'only the template closes the turn');
  assert.equal(contentSpans.length, 1);
  assert.equal(qwen.decode(ids.slice(contentSpans[0].start, contentSpans[0].end)), msgs[0].content);
  assert.equal(qwen.decode(ids, { special: true }), t.render(msgs));
  // With no special text in the contents, it is exactly llama.cpp's tokenization of the rendered prompt.
  assert.deepEqual(encodeChat(qwen, t, user).ids, qwen.encode(t.render(user), { parseSpecial: true }));
});

test('encodeChat on Llama 3: one BOS (the template writes it), trimmed contents located', () => {
  const t = ChatTemplate.forTokenizer(llama3);
  const msgs = [{ role: 'user', content: '  padded question \n' }]; // the template trims contents
  const { ids, contentSpans } = encodeChat(llama3, t, msgs);
  assert.equal(ids[0], 128000);
  assert.notEqual(ids[1], 128000);
  assert.equal(llama3.decode(ids.slice(contentSpans[0].start, contentSpans[0].end)), 'padded question');
  assert.deepEqual(ids, llama3.encode(t.render(msgs), { parseSpecial: true }));
});

test('a model without a template gets the plain fallback format; encodeChat adds BOS for it', async () => {
  const stories = createTokenizer((await readGguf(sharedModelPath('stories260K.gguf'))).metadata);
  const t = ChatTemplate.forTokenizer(stories);
  assert.equal(t.isFallback, true);
  const msgs = [{ role: 'system', content: 'Tell a story.' }, { role: 'user', content: 'About a cat.' }];
  assert.equal(t.render(msgs), 'Tell a story.\n\nUser: About a cat.\n\nAssistant:');
  assert.equal(t.render(msgs, { addGenerationPrompt: false }), 'Tell a story.\n\nUser: About a cat.\n\n');
  const { ids, contentSpans } = encodeChat(stories, t, msgs);
  assert.deepEqual(ids, stories.encode(t.render(msgs), { addBos: true }));
  assert.deepEqual(contentSpans.map((s) => stories.decode(ids.slice(s.start, s.end)).trim()), ['Tell a story.', 'About a cat.']);
});

test('template errors name the problem: parse failure, raise_exception, bad call', () => {
  assert.throws(() => new ChatTemplate('{% if %}'), (e: Error) => e instanceof ChatTemplateError && /failed to parse: .*Unexpected token/.test(e.message));
  const raising = new ChatTemplate("{{ raise_exception('roles must alternate') }}");
  assert.throws(() => raising.render(user), (e: Error) => e instanceof ChatTemplateError && /failed to render 1 messages: roles must alternate/.test(e.message));
  const badCall = new ChatTemplate('{{ messages[0].content.nope() }}');
  assert.throws(() => badCall.render(user), /failed to render.*not a function/);
});
