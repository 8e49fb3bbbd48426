// Splits text around special tokens before any other processing, as llama.cpp's tokenizer_st_partition does:
// user-defined tokens always, control and unknown tokens only when the caller parses special tokens. Longer tokens
// are matched first; each token splits every remaining text fragment at all its occurrences, left to right.
import { TokenType, type Vocabulary } from './vocab';

/** A piece of the input: text still to tokenize, or a token id already matched. */
export type Fragment = string | number;

export interface SpecialMatcher {
  /** Special tokens that are always matched (user-defined), longest first. */
  readonly always: readonly SpecialToken[];
  /** Every matchable special token (user-defined, control, unknown), longest first. */
  readonly withControl: readonly SpecialToken[];
}

interface SpecialToken {
  readonly text: string;
  readonly id: number;
}

export function buildSpecialMatcher(v: Vocabulary): SpecialMatcher {
  const all: SpecialToken[] = [];
  v.types.forEach((t, id) => {
    if (t === TokenType.control || t === TokenType.userDefined || t === TokenType.unknown) all.push({ text: v.tokens[id], id });
  });
  all.sort((a, b) => b.text.length - a.text.length || a.id - b.id);
  return { always: all.filter((s) => v.types[s.id] === TokenType.userDefined), withControl: all };
}

/** Text split into raw-text fragments (never empty) and matched special token ids, in order. */
export function partitionSpecial(text: string, specials: readonly SpecialToken[]): Fragment[] {
  let frags: Fragment[] = text === '' ? [] : [text];
  for (const s of specials) {
    // Cheap rejection: most special tokens never occur in ordinary text.
    if (!frags.some((f) => typeof f === 'string' && f.includes(s.text))) continue;
    const next: Fragment[] = [];
    for (const f of frags) {
      if (typeof f !== 'string') {
        next.push(f);
        continue;
      }
      let from = 0;
      for (let at = f.indexOf(s.text); at >= 0; at = f.indexOf(s.text, from)) {
        if (at > from) next.push(f.slice(from, at));
        next.push(s.id);
        from = at + s.text.length;
      }
      if (from < f.length) next.push(f.slice(from));
    }
    frags = next;
  }
  return frags;
}
