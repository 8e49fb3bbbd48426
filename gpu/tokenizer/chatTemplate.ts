// Chat prompts from the model's tokenizer.chat_template (Jinja, rendered with @huggingface/jinja as transformers.js
// does), or a plain fallback when the model has none.
//
// Fallback format (models without a template, e.g. stories260K or a base model): one block per message,
//   "<content of system message>\n\n"   system messages: the content alone
//   "User: <content>\n\n"               other roles: the role capitalized, ": ", the content
//   "Assistant: <content>\n\n"
// and, with addGenerationPrompt, a final "Assistant:" for the model to continue (no trailing space: byte-level BPE
// vocabularies spell the space into the next word's token).
import { Template } from '@huggingface/jinja';
import { ChatTemplateError } from '../errors';
import type { Fragment, Tokenizer } from './tokenizer';

export interface ChatMessage {
  /** 'system' | 'user' | 'assistant' (templates may accept others). */
  readonly role: string;
  readonly content: string;
}

export interface ChatRenderOptions {
  /** End with the opening of an assistant turn (default true). */
  readonly addGenerationPrompt?: boolean;
  /** Further template variables (e.g. Qwen3's enable_thinking: false). */
  readonly variables?: Readonly<Record<string, unknown>>;
}

export interface EncodedChat {
  readonly ids: number[];
  /** Token range [start, end) of each message's content in `ids`, in message order. */
  readonly contentSpans: readonly { readonly message: number; readonly start: number; readonly end: number }[];
}

export class ChatTemplate {
  /** True when the model had no template and the plain fallback format is used. */
  readonly isFallback: boolean;
  private readonly template: Template | undefined;

  /**
   * @param source tokenizer.chat_template, or undefined for the fallback format
   * @param bosToken, eosToken texts the template may print as bos_token / eos_token ('' when the model has none)
   */
  constructor(
    source: string | undefined,
    private readonly bosToken = '',
    private readonly eosToken = '',
  ) {
    this.isFallback = source === undefined;
    if (source !== undefined) {
      try {
        this.template = new Template(source);
      } catch (e) {
        throw new ChatTemplateError(`tokenizer.chat_template failed to parse: ${message(e)} (template starts ${preview(source)})`);
      }
    }
  }

  /** The template of a tokenizer's model, with its BOS/EOS texts. */
  static forTokenizer(t: Tokenizer): ChatTemplate {
    return new ChatTemplate(t.chatTemplate, t.bos >= 0 ? t.tokenText(t.bos) : '', t.eos >= 0 ? t.tokenText(t.eos) : '');
  }

  /** The prompt text. Special tokens appear as their text: encode it with parseSpecial, or use encodeChat. */
  render(messages: readonly ChatMessage[], options: ChatRenderOptions = {}): string {
    const addGenerationPrompt = options.addGenerationPrompt ?? true;
    if (!this.template) return renderFallback(messages, addGenerationPrompt);
    try {
      return this.template.render({
        ...options.variables,
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
        add_generation_prompt: addGenerationPrompt,
        bos_token: this.bosToken,
        eos_token: this.eosToken,
      });
    } catch (e) {
      throw new ChatTemplateError(`tokenizer.chat_template failed to render ${messages.length} messages: ${message(e)}`);
    }
  }
}

/**
 * Token ids of a chat prompt, as llama.cpp would tokenize the rendered text, except that special tokens are matched
 * only where the template wrote them: message contents (a whole workspace, say) stay plain text, so a file containing
 * "<|im_end|>" cannot end a turn. Adds BOS when the model wants one and the template did not write it.
 */
export function encodeChat(
  tokenizer: Tokenizer,
  template: ChatTemplate,
  messages: readonly ChatMessage[],
  options: ChatRenderOptions = {},
): EncodedChat {
  // Render once with a marker per content, then check that putting the contents back gives the real rendering
  // (a template may trim contents: Llama 3's does).
  const markers = messages.map((_, i) => `\uE000${i}\uE001`);
  const marked = template.render(messages.map((m, i) => ({ role: m.role, content: markers[i] })), options);
  const real = template.render(messages, options);
  const contents = [messages.map((m) => m.content), messages.map((m) => m.content.trim())].find(
    (c) => markers.reduce((s, mk, i) => s.replace(mk, () => c[i]), marked) === real,
  );
  if (!contents) {
    throw new ChatTemplateError('tokenizer.chat_template changes message contents beyond trimming; encodeChat cannot keep them apart from the template text');
  }

  // Fragments of the real prompt: template text split at special tokens, contents as plain text joined to the text
  // around them (so BPE merges across the seams exactly as in whole-text tokenization).
  const frags: Fragment[] = [];
  const ranges: { message: number; frag: number; from: number; to: number }[] = []; // content chars within frags[frag]
  const appendText = (text: string): { frag: number; at: number } => {
    const last = frags.length - 1;
    if (last >= 0 && typeof frags[last] === 'string') {
      const at = (frags[last] as string).length;
      frags[last] += text;
      return { frag: last, at };
    }
    frags.push(text);
    return { frag: frags.length - 1, at: 0 };
  };
  marked.split(/\uE000(\d+)\uE001/).forEach((part, p) => {
    if (p % 2 === 1) {
      const message = Number(part);
      const { frag, at } = appendText(contents[message]);
      ranges.push({ message, frag, from: at, to: at + contents[message].length });
      return;
    }
    for (const f of tokenizer.splitSpecial(part, true)) {
      if (typeof f === 'number') frags.push(f);
      else appendText(f);
    }
  });

  // Encode fragment by fragment, locating each content by UTF-8 byte offsets within its fragment's tokens.
  const addBos = tokenizer.addBos && tokenizer.bos >= 0 && frags[0] !== tokenizer.bos;
  const ids: number[] = addBos ? [tokenizer.bos] : [];
  const contentSpans: { message: number; start: number; end: number }[] = [];
  frags.forEach((f, i) => {
    if (typeof f === 'number') {
      ids.push(f);
      return;
    }
    const first = ids.length;
    const fragIds = tokenizer.encodeFragments([f]);
    ids.push(...fragIds);
    // Token ends in bytes of f; a 'llama' tokenizer put one space before f when it follows no text.
    const prefix = tokenizer.addSpacePrefix && (i === 0 || typeof frags[i - 1] === 'number') ? 1 : 0;
    const ends: number[] = [];
    let at = -prefix;
    for (const id of fragIds) ends.push((at += tokenizer.tokenBytes(id).length));
    for (const r of ranges.filter((x) => x.frag === i)) {
      const from = utf8Length(f.slice(0, r.from));
      const to = from + utf8Length(f.slice(r.from, r.to));
      // Tokens overlapping [from, to); a token straddling a seam belongs to the content it touches.
      const startAt = ends.findIndex((e) => e > from);
      const endAt = ends.findIndex((e) => e >= to);
      const start = first + (startAt < 0 ? fragIds.length : startAt);
      const end = from === to ? start : first + (endAt < 0 ? fragIds.length : endAt + 1);
      contentSpans.push({ message: r.message, start, end });
    }
  });
  contentSpans.sort((a, b) => a.message - b.message);
  return { ids, contentSpans };
}

const utf8 = new TextEncoder();
function utf8Length(s: string): number {
  return utf8.encode(s).length;
}

function renderFallback(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
  let out = '';
  for (const m of messages) {
    out += m.role === 'system' ? `${m.content}\n\n` : `${m.role.charAt(0).toUpperCase()}${m.role.slice(1)}: ${m.content}\n\n`;
  }
  return addGenerationPrompt ? `${out}Assistant:` : out;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function preview(source: string): string {
  return JSON.stringify(source.length > 60 ? `${source.slice(0, 60)}…` : source);
}
