// The tokenizer.* keys of a GGUF file, read into one Vocabulary, with the defaults and load-time fixups llama.cpp
// applies (llama-vocab.cpp, `llama_vocab::impl::load`), so a GGUF tokenizes here as it does in llama.cpp.
import { TokenizerError } from '../errors';
import {
  type Metadata,
  optBool,
  optInt,
  optNumberArray,
  optString,
  optStringArray,
  requireString,
  requireStringArray,
} from './metadata';

/** tokenizer.ggml.token_type values. */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
export type TokenType = (typeof TokenType)[keyof typeof TokenType];

export type TokenizerModel = 'llama' | 'gpt2';

export interface Vocabulary {
  /** tokenizer.ggml.model: 'llama' = SentencePiece-style BPE with scores; 'gpt2' = byte-level BPE with merges. */
  readonly model: TokenizerModel;
  /** tokenizer.ggml.pre ('' for 'llama'). */
  readonly pre: string;
  /** (vocabSize) token strings by id; empty strings are renamed `[EMPTY_<id>]` as llama.cpp does. */
  readonly tokens: readonly string[];
  /** (vocabSize) TokenType per id, after the fixups below. */
  readonly types: Uint8Array;
  /** (vocabSize) merge scores ('llama'); zeros when the file has none. */
  readonly scores: Float32Array;
  /** "left right" merges in priority order ('gpt2'). */
  readonly merges: readonly string[];
  /** Token string -> id (the last id wins for duplicates, as in llama.cpp). */
  readonly tokenToId: ReadonlyMap<string, number>;
  /** Special ids, -1 when absent or out of range. */
  readonly bos: number;
  readonly eos: number;
  /** Ids that end generation: eos, end-of-turn tokens (<|im_end|>, <|eot_id|>, …), as llama.cpp's special_eog_ids. */
  readonly eogIds: ReadonlySet<number>;
  /** tokenizer.ggml.add_bos_token (or the model's default): whether prompts should start with BOS. */
  readonly addBos: boolean;
  /** tokenizer.ggml.add_space_prefix: SPM prepends one space to text at the start and after each special token. */
  readonly addSpacePrefix: boolean;
  /** tokenizer.chat_template, if any. */
  readonly chatTemplate: string | undefined;
}

const K = 'tokenizer.ggml.';

// Texts llama.cpp treats as end of generation and forces to control type (llama-vocab.cpp "auto-detect"; its
// end-of-turn list is a subset of this one).
const eogTexts = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<｜end▁of▁sentence｜>'];
// Fill-in-the-middle kinds: GGUF key suffix (and deprecated alias) -> texts. Qwen ships these as user-defined added
// tokens; llama.cpp makes them control, so they are not matched in plain text. pad/rep/sep also end generation.
const fimKinds: { keys: string[]; texts: string[]; eog: boolean }[] = [
  { keys: ['fim_pre_token_id', 'prefix_token_id'], texts: ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'], eog: false },
  { keys: ['fim_suf_token_id', 'suffix_token_id'], texts: ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'], eog: false },
  { keys: ['fim_mid_token_id', 'middle_token_id'], texts: ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'], eog: false },
  { keys: ['fim_pad_token_id'], texts: ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'], eog: true },
  { keys: ['fim_rep_token_id'], texts: ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'], eog: true },
  { keys: ['fim_sep_token_id'], texts: ['<|file_sep|>'], eog: true },
];

/** Reads and checks the tokenizer.* keys. Throws TokenizerError naming the key for anything missing or malformed. */
export function readVocabulary(m: Metadata): Vocabulary {
  const modelName = requireString(m, K + 'model');
  if (modelName !== 'llama' && modelName !== 'gpt2') {
    throw new TokenizerError(
      `GGUF metadata ${K}model is '${modelName}': this engine reads 'llama' (SentencePiece BPE) and 'gpt2' (byte-level BPE) tokenizers only`,
    );
  }
  const model: TokenizerModel = modelName;
  const raw = requireStringArray(m, K + 'tokens');
  const n = raw.length;
  if (n === 0) throw new TokenizerError(`GGUF metadata ${K}tokens is empty`);
  const tokens = raw.map((t, i) => (t === '' ? `[EMPTY_${i}]` : t));
  const tokenToId = new Map<string, number>();
  tokens.forEach((t, i) => tokenToId.set(t, i));

  const scoresIn = optNumberArray(m, K + 'scores', n);
  const scores = new Float32Array(n);
  if (scoresIn) for (let i = 0; i < n; i++) scores[i] = scoresIn[i];

  const typesIn = optNumberArray(m, K + 'token_type', n);
  const types = new Uint8Array(n).fill(TokenType.normal);
  if (typesIn) for (let i = 0; i < n; i++) types[i] = typesIn[i] >= 1 && typesIn[i] <= 6 ? typesIn[i] : 0;

  const pre = model === 'gpt2' ? (optString(m, K + 'pre') ?? 'default') : '';
  const merges = model === 'gpt2' ? optStringArray(m, K + 'merges') : [];
  if (!merges) throw new TokenizerError(`GGUF metadata ${K}merges: a 'gpt2' tokenizer needs its merges, found nothing (key missing)`);

  // Defaults by model, then the file's keys (llama.cpp: special ids out of range are disabled).
  const isLlama3 = ['llama3', 'llama-v3', 'llama-bpe'].includes(pre);
  const inRange = (id: number | undefined, fallback: number) => {
    const v = id ?? fallback;
    return v >= 0 && v < n ? v : -1;
  };
  // llama.cpp defaults a 'gpt2' file without BOS/EOS keys to id 11 (GPT-NeoX's); that is "," in most vocabularies,
  // so here such a file has no BOS/EOS instead.
  const bos = inRange(optInt(m, K + 'bos_token_id'), model === 'llama' ? 1 : -1);
  const eos = inRange(optInt(m, K + 'eos_token_id'), model === 'llama' ? 2 : -1);
  const eot = inRange(optInt(m, K + 'eot_token_id'), -1);
  const eom = inRange(optInt(m, K + 'eom_token_id'), -1);
  const addBos = optBool(m, K + 'add_bos_token') ?? (model === 'llama' || isLlama3);
  const addSpacePrefix = optBool(m, K + 'add_space_prefix') ?? model === 'llama';

  // llama.cpp's fixups: end-of-turn and FIM tokens become control (unless the file names that kind by key).
  const makeControl = (id: number) => (types[id] = TokenType.control);
  const eogIds = new Set<number>();
  for (const kind of fimKinds) {
    let id = kind.keys.map((k) => inRange(optInt(m, K + k), -1)).find((v) => v >= 0) ?? -1;
    if (id < 0) {
      id = kind.texts.map((t) => tokenToId.get(t)).find((v) => v !== undefined) ?? -1;
      if (id >= 0) makeControl(id);
    }
    if (id >= 0 && kind.eog) eogIds.add(id);
  }
  for (const t of eogTexts) {
    const id = tokenToId.get(t);
    if (id !== undefined) {
      eogIds.add(id);
      makeControl(id);
    }
  }
  for (const id of [eos, eot, eom]) if (id >= 0) eogIds.add(id);

  return {
    model,
    pre,
    tokens,
    types,
    scores,
    merges,
    tokenToId,
    bos,
    eos,
    eogIds,
    addBos,
    addSpacePrefix,
    chatTemplate: optString(m, 'tokenizer.chat_template'),
  };
}
