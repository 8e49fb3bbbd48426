// Where the workspace and the question go in the token sequence, so that the workspace is one reusable prefix.
//
//   [BOS]  file 1 … file n  |  question part  |  answer
//   └── the packed context ──┘ (prefilled once, persisted, shared by every question)
//
// Question part, for a model without a chat template, or one whose GGUF names the `quest-lens-qa-1` prompt format
// (`questlens.prompt_format`: the built-in model's trained format, model/corpus/promptFormat.ts):
//   "// Q: <question on one line>\n// A:"          (the answer's first token carries its own leading space)
// With an editor selection, "// Selection:\n<selection>\n" goes before "// Q:".
// For a model with a chat template: the template rendered for one user message whose content is the question (and
// the selection in a fenced block), with the generation prompt; a BOS the template writes at its start is dropped
// (the context already began with one).
// Trade-off: an instruct model then sees the code as text before its conversation starts, not inside the user turn
// where it was trained to look. Putting the template's opening (system prompt, user header) before the files would
// fix that and stay reusable, but ties every persisted cache to one template and one system prompt; the answer
// quality cost of the simple layout has not been measured.
import { ChatTemplate, encodeChat } from '../tokenizer/chatTemplate';
import type { Tokenizer } from '../tokenizer/tokenizer';

/** Prompt formats a GGUF may name in `questlens.prompt_format` (model/corpus/promptFormat.ts's promptFormatId). */
export const promptFormats = ['quest-lens-qa-1'] as const;
export type PromptFormat = (typeof promptFormats)[number];

export function isPromptFormat(v: string): v is PromptFormat {
  return (promptFormats as readonly string[]).includes(v);
}

export interface PromptLayout {
  /** 'chat' when the model's chat template frames the question, 'raw' for the `// Q:` / `// A:` format. */
  readonly format: 'chat' | 'raw';
  /** Tokens before the first file: [BOS] when the model wants one, else none. */
  readonly leading: readonly number[];
  /** The tokens that follow the packed context for one question. */
  question(question: string, selection?: string): number[];
}

/**
 * @param model the engine's tokenizer (BOS and the chat template come from it)
 * @param midText the same vocabulary without the dummy prefix (contextTokenizer.ts): everything here follows text
 * @param promptFormat the format the GGUF names (`questlens.prompt_format`), if any: it wins over a chat template
 */
export function promptLayout(model: Tokenizer, midText: Tokenizer, promptFormat?: PromptFormat): PromptLayout {
  const leading = model.addBos && model.bos >= 0 ? [model.bos] : [];
  if (model.chatTemplate === undefined || promptFormat === 'quest-lens-qa-1') {
    return {
      format: 'raw',
      leading,
      question: (question, selection) => {
        const oneLine = question.replace(/\s*[\r\n]+\s*/g, ' ').trim();
        const sel = selection ? `// Selection:\n${selection}${selection.endsWith('\n') ? '' : '\n'}` : '';
        return midText.encode(`${sel}// Q: ${oneLine}\n// A:`, { addBos: false, parseSpecial: false });
      },
    };
  }
  const template = ChatTemplate.forTokenizer(model);
  return {
    format: 'chat',
    leading,
    question: (question, selection) => {
      const content = selection ? `${question.trim()}\n\nSelected code:\n\`\`\`\n${selection}\n\`\`\`` : question.trim();
      const { ids } = encodeChat(midText, template, [{ role: 'user', content }], { addGenerationPrompt: true });
      return model.bos >= 0 && ids[0] === model.bos ? ids.slice(1) : ids;
    },
  };
}
