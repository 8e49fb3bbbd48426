// The default model's prompt format: the one place that says how a question and its answer follow the packed
// workspace. The corpus builder writes its training examples with it, and the engine's prompt layout for a model
// without a chat template (gpu/session/promptLayout.ts) must produce the same question tokens; the exported GGUF
// names the format in `questlens.prompt_format` so that the engine can check it.
//
//   <packed context: `// File: <package>/<path>` + file text, file after file>
//   // Q: <question on one line>\n// A:                          question part, tokenized on its own
//   <answer tokens><|endoftext|>                                 answer, then the end-of-text token (the engine stops)
//
// Answers quote the context (default-model-findings.md: a model asked to recall a path memorizes instead of copying).
// An answer line is the line's own tokens as they stand in the context (a token that straddles the previous newline
// is not part of it; trailing whitespace tokens are dropped), so every answer token is a token the model can copy.
// The question part is tokenized alone, as the engine does (the packed context ends with a newline and the question
// starts with `//`, so that split is also where whole-text tokenization would split).
//
// Answer styles (measured choices, recorded in the corpus index and the GGUF):
//   'line'        the quoted line                                   (the findings' run 2: 45% exact on held-out)
//   'name-first'  ` NAME:` then the quoted line                      (the findings' suggested fix for first-token
//                                                                      errors: the first token is copied from the question)
// Putting the question before the code was the other suggested fix; it is not offered: the engine prefills the
// workspace once and reuses it for every question, which needs the question after the context.

/** Recorded in the corpus index and in the GGUF (`questlens.prompt_format`). */
export const promptFormatId = 'quest-lens-qa-1';

export type AnswerStyle = 'line' | 'name-first';
export const answerStyles: readonly AnswerStyle[] = ['line', 'name-first'];

export type QuestionTask = 'definition' | 'signature' | 'usage';
export const questionTasks: readonly QuestionTask[] = ['definition', 'signature', 'usage'];

/** The question part after the packed context: the engine's raw prompt layout writes exactly this. */
export function questionPart(question: string): string {
  const oneLine = question.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return `// Q: ${oneLine}\n// A:`;
}

/**
 * Phrasings per task; a name gets one of them (chosen by a hash of the name and the task, so the corpus is the same
 * on every build). A few phrasings keep the model from keying on one exact sentence.
 */
export const questionTemplates: Readonly<Record<QuestionTask, readonly string[]>> = {
  definition: ['Where is `{name}` defined?', 'Where is `{name}` declared?', 'Show the definition of `{name}`.'],
  signature: ['What does `{name}` take and return?', 'What are the parameters of `{name}`?', 'What is the signature of `{name}`?'],
  usage: ['Which files use `{name}`?', 'Where is `{name}` used?', 'What imports or calls `{name}`?'],
};

/** The question for `task` about `name`, phrasing `variant` (taken modulo the phrasings). */
export function questionFor(task: QuestionTask, name: string, variant: number): string {
  const list = questionTemplates[task];
  return list[((variant % list.length) + list.length) % list.length].replaceAll('{name}', name);
}

/** Name-first answers start with this (then the quoted line's tokens). */
export function nameFirstPrefix(name: string): string {
  return ` ${name}:`;
}

/** What the model answers when the name asked about is defined nowhere in the context. */
export const notInContextAnswer = ' not defined in the context';

/** The pass key question and the line hidden in the code (a comment line, so it reads as code in any JS/TS file). */
export const passkeyQuestion = 'What is the pass key?';
export function passkeyNeedle(key: string): string {
  return `// The pass key is ${key}. Remember it. ${key} is the pass key.\n`;
}
export function passkeyAnswer(key: string): string {
  return ` ${key}`;
}

/**
 * Quest's passkey prompt (eval/passkey.ts, from Landmark Attention): English filler, a needle at some depth, and a
 * question the answer continues. Kept here so that the training examples of this form and the evaluation agree.
 */
export const questPasskey = {
  intro: 'There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.\n',
  filler: 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. ',
  question: '\nWhat is the pass key? The pass key is',
  needle: (key: string) => ` The pass key is ${key}. Remember it. ${key} is the pass key. `,
} as const;
