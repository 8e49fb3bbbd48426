// Quest's passkey retrieval (the protocol of the Quest paper's Table 1, from Landmark Attention): a 5-digit pass key
// hidden at a random depth in long filler text, then the question, decoded token by token; right when the key is in
// the first 8 tokens. The prompt is the corpus builder's (model/corpus/partWriter.ts questPrompt, from
// promptFormat.ts's `questPasskey`), which the default model also trains on. Each prompt is prefilled once (all but
// its last token); every configuration then cuts the cache back to that prefix and prefills the last token itself, so
// dense and every budget read the same cache.
import type { Engine } from '../gpu/engine';
import type { QuestSettings } from '../gpu/forward/forward';
import { questPrompt } from '../model/corpus/partWriter';
import { questPasskey } from '../model/corpus/promptFormat';

/** Tokens decoded per key: "12345." and a little room. */
const ANSWER_TOKENS = 8;

export interface PasskeyConfig {
  /** 'dense' or 'quest <token budget>'. */
  readonly name: string;
  readonly quest: QuestSettings;
}

export interface PasskeyRow {
  readonly length: number;
  /** Tokens of the prompts (about `length`, leaving room for the answer). */
  readonly promptTokens: number;
  readonly keys: number;
  /** Keys found, per configuration name. */
  readonly found: Readonly<Record<string, number>>;
}

/** A small seeded generator: the same seed gives the same keys and depths on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** The prompt of at most `length` tokens with `key` at `depth` (0..1) of the filler: the corpus's own (partWriter.ts). */
export function passkeyPrompt(engine: Engine, length: number, key: string, depth: number): number[] {
  const tok = engine.tokenizer;
  const encode = (text: string) => tok.encode(text, { addBos: false, parseSpecial: false });
  const leading = tok.addBos && tok.bos >= 0 ? [tok.bos] : [];
  return [...leading, ...questPrompt({ encode }, length - leading.length, key, depth, encode(questPasskey.filler).length)];
}

/**
 * Passkey retrieval at one context length: `keys` prompts of at most `length - 8` tokens. Stops starting new keys
 * after `deadline` (performance.now() ms); the row says how many keys were asked.
 */
export async function passkeyRow(engine: Engine, length: number, configs: readonly PasskeyConfig[], keys: number, random: () => number, deadline = Infinity): Promise<PasskeyRow> {
  const found: Record<string, number> = Object.fromEntries(configs.map((c) => [c.name, 0]));
  let asked = 0;
  let promptTokens = 0;
  for (; asked < keys && performance.now() < deadline; asked++) {
    const key = String(10000 + Math.floor(random() * 90000));
    const ids = passkeyPrompt(engine, length - ANSWER_TOKENS, key, random());
    promptTokens = ids.length;
    engine.truncate(0);
    await engine.prefill(ids.slice(0, -1));
    for (const c of configs) {
      engine.truncate(ids.length - 1);
      await engine.prefill(ids.slice(-1));
      const out: number[] = [];
      for await (const t of engine.generate({ maxTokens: ANSWER_TOKENS, quest: c.quest })) out.push(t.token);
      if (engine.tokenizer.decode(out).includes(key)) found[c.name]++;
    }
  }
  engine.truncate(0);
  return { length, promptTokens, keys: asked, found };
}
