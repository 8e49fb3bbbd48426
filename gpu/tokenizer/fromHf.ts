// GGUF tokenizer metadata from a Hugging Face tokenizer.json (+ tokenizer_config.json), written as llama.cpp's
// converter writes it (convert_hf_to_gguf.py get_vocab_base): tokens by id, holes as [PAD<id>] of type unused, added
// tokens as control when special or `<|…|>`-shaped, else user-defined; merges as "left right". For a model folder
// without a GGUF (safetensors), and for tests that check the 'gpt2' tokenizer against real vocabularies.
import type { GgufValue } from '../gguf/reader';
import { TokenizerError } from '../errors';
import { TokenType } from './vocab';

interface AddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
}

// The pre-tokenizer Split patterns of the vocabularies this engine serves, as tokenizer.json writes them.
const splitPatterns: Record<string, string> = {
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'llama-bpe',
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'qwen2',
};

function fail(problem: string): never {
  throw new TokenizerError(`tokenizer.json: ${problem}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** tokenizer.ggml.pre for a tokenizer.json, from its pre-tokenizer (GPT-2's ByteLevel regex, or a known Split). */
export function detectPre(tokenizerJson: unknown): string {
  const pre = isRecord(tokenizerJson) ? tokenizerJson.pre_tokenizer : undefined;
  if (!isRecord(pre)) fail('has no pre_tokenizer object');
  const steps = Array.isArray(pre.pretokenizers) ? pre.pretokenizers : [pre];
  for (const s of steps) {
    if (!isRecord(s)) continue;
    if (s.type === 'ByteLevel' && s.use_regex === true) return 'gpt-2';
    const pattern = isRecord(s.pattern) ? s.pattern.Regex : undefined;
    if (s.type === 'Split' && typeof pattern === 'string') {
      const name = splitPatterns[pattern];
      if (name) return name;
      fail(`pre-tokenizer Split pattern ${JSON.stringify(pattern).slice(0, 80)}… is not one this engine knows (Llama 3, Qwen2, GPT-2)`);
    }
  }
  fail('pre-tokenizer has neither a ByteLevel regex nor a Split pattern');
}

/** The token a tokenizer_config.json field names: a string, `{content}`, or null. */
function configToken(config: Record<string, unknown>, key: string): string | undefined {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (isRecord(v) && typeof v.content === 'string') return v.content;
  return undefined;
}

/**
 * The tokenizer.* GGUF metadata of a byte-level BPE tokenizer.json. `pre` defaults to `detectPre`; `vocabSize` to
 * the highest id + 1 (give the model's embedding rows to pad like the converter does).
 */
export function tokenizerMetadataFromHf(
  tokenizerJson: unknown,
  tokenizerConfig: unknown = {},
  options: { pre?: string; vocabSize?: number } = {},
): Map<string, GgufValue> {
  if (!isRecord(tokenizerJson) || !isRecord(tokenizerJson.model)) fail('is not an object with a "model"');
  const model = tokenizerJson.model;
  if (model.type !== 'BPE') fail(`model.type is ${JSON.stringify(model.type)}, expected "BPE"`);
  if (!isRecord(model.vocab) || !Array.isArray(model.merges)) fail('model needs "vocab" (object) and "merges" (array)');
  const config = isRecord(tokenizerConfig) ? tokenizerConfig : {};
  const added = (Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : []) as unknown[];

  const byId = new Map<number, string>();
  for (const [text, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number') fail(`model.vocab[${JSON.stringify(text)}] is not a number`);
    byId.set(id, text);
  }
  const addedById = new Map<number, AddedToken>();
  added.forEach((a, i) => {
    if (!isRecord(a) || typeof a.id !== 'number' || typeof a.content !== 'string') fail(`added_tokens[${i}] needs a numeric "id" and a string "content"`);
    byId.set(a.id, a.content);
    addedById.set(a.id, { id: a.id, content: a.content, special: a.special === true });
  });
  let maxId = -1;
  for (const id of byId.keys()) maxId = Math.max(maxId, id);
  const n = options.vocabSize ?? maxId + 1;
  if (n <= maxId) fail(`vocabSize ${n} is smaller than the highest token id + 1 (${maxId + 1})`);

  const tokens: string[] = [];
  const types = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const text = byId.get(i);
    const a = addedById.get(i);
    if (text === undefined) {
      tokens.push(`[PAD${i}]`);
      types[i] = TokenType.unused;
    } else if (a && (a.special || looksSpecial(text))) {
      tokens.push(text);
      types[i] = TokenType.control;
    } else if (a) {
      tokens.push(text.replaceAll('\u2581', ' '));
      types[i] = TokenType.userDefined;
    } else {
      tokens.push(text);
      types[i] = TokenType.normal;
    }
  }
  const merges = (model.merges as unknown[]).map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2) return `${m[0]} ${m[1]}`;
    fail(`model.merges[${i}] is neither "a b" nor ["a", "b"]`);
  });

  const meta = new Map<string, GgufValue>([
    ['tokenizer.ggml.model', 'gpt2'],
    ['tokenizer.ggml.pre', options.pre ?? detectPre(tokenizerJson)],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.token_type', types],
    ['tokenizer.ggml.merges', merges],
  ]);
  const idOf = new Map<string, number>();
  tokens.forEach((t, i) => idOf.set(t, i));
  for (const [key, field] of [
    ['bos_token_id', 'bos_token'],
    ['eos_token_id', 'eos_token'],
    ['unknown_token_id', 'unk_token'],
    ['padding_token_id', 'pad_token'],
  ] as const) {
    const text = configToken(config, field);
    const id = text === undefined ? undefined : idOf.get(text);
    if (id !== undefined) meta.set(`tokenizer.ggml.${key}`, id);
  }
  if (typeof config.add_bos_token === 'boolean') meta.set('tokenizer.ggml.add_bos_token', config.add_bos_token);
  if (typeof config.chat_template === 'string') meta.set('tokenizer.chat_template', config.chat_template);
  return meta;
}

/** The converter's does_token_look_special: added tokens some models forget to mark special. */
function looksSpecial(t: string): boolean {
  return (
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t) ||
    (t.startsWith('<|') && t.endsWith('|>')) ||
    (t.startsWith('<｜') && t.endsWith('｜>')) ||
    (t.startsWith('<unused') && t.endsWith('>'))
  );
}
