// A small markdown parser for streamed answers. Pure (no DOM): it returns a tree that render.ts turns into DOM nodes
// with textContent only, so model text can never become markup. Raw HTML is not a construct here: it stays text.
//
// Covers what models write: paragraphs, ATX headings, fenced code (an unclosed fence runs to the end, so a streaming
// code block renders as code), lists (nesting by indent), block quotes, pipe tables, rules; inline code, strong,
// emphasis, strikethrough, links, images (shown as text), backslash escapes, and file:line references.
//
// Every text node is an exact slice of the source: `source.slice(start, start + text.length) === text`. render.ts
// relies on it to split text at answer-token boundaries (so hovering a token can highlight its heatmap row).
import { findFileRefs, parseFileRefTarget, type FileRef } from './fileRefs';

export interface TextNode {
  readonly kind: 'text';
  readonly text: string;
  /** Offset of `text` in the source. */
  readonly start: number;
}
/** A file:line reference: a bare one in text (children = its text) or a markdown link to one. */
export interface FileRefNode {
  readonly kind: 'fileRef';
  readonly ref: Omit<FileRef, 'start' | 'end'>;
  readonly children: readonly Inline[];
}
export interface CodeSpanNode {
  readonly kind: 'codeSpan';
  readonly children: readonly (TextNode | FileRefNode)[];
}
export interface StyleNode {
  readonly kind: 'strong' | 'em' | 'del';
  readonly children: readonly Inline[];
}
/** A link or image to anything but a file:line: shown as text, never followed or loaded. */
export interface InertLinkNode {
  readonly kind: 'inertLink';
  readonly image: boolean;
  readonly target: string;
  readonly children: readonly Inline[];
}
export interface BreakNode {
  readonly kind: 'break';
}
export type Inline = TextNode | FileRefNode | CodeSpanNode | StyleNode | InertLinkNode | BreakNode;

interface BlockBase {
  /** Source range [start, end) of the whole block, its markers included. */
  readonly start: number;
  readonly end: number;
}
export interface ParagraphBlock extends BlockBase {
  readonly kind: 'paragraph';
  readonly inlines: readonly Inline[];
}
export interface HeadingBlock extends BlockBase {
  readonly kind: 'heading';
  readonly level: number;
  readonly inlines: readonly Inline[];
}
export interface CodeBlock extends BlockBase {
  readonly kind: 'code';
  /** The fence's info string's first word ('' if none); shown as a label, never interpreted. */
  readonly lang: string;
  /** Lines between the fences, verbatim: with its file refs split out, as for inline code. */
  readonly children: readonly (TextNode | FileRefNode)[];
  /** The raw text between the fences (what the copy button of a code block copies). */
  readonly code: string;
  /** False while streaming: the closing fence has not arrived. */
  readonly closed: boolean;
}
export interface ListItem {
  /** Nesting depth from indentation (0 = top). */
  readonly depth: number;
  readonly ordered: boolean;
  /** The item's number for ordered lists. */
  readonly number: number;
  readonly inlines: readonly Inline[];
}
export interface ListBlock extends BlockBase {
  readonly kind: 'list';
  readonly items: readonly ListItem[];
}
export interface QuoteBlock extends BlockBase {
  readonly kind: 'quote';
  readonly inlines: readonly Inline[];
}
export type Align = 'left' | 'center' | 'right' | undefined;
export interface TableBlock extends BlockBase {
  readonly kind: 'table';
  readonly align: readonly Align[];
  readonly header: readonly (readonly Inline[])[];
  readonly rows: readonly (readonly (readonly Inline[])[])[];
}
export interface RuleBlock extends BlockBase {
  readonly kind: 'rule';
}
export type Block = ParagraphBlock | HeadingBlock | CodeBlock | ListBlock | QuoteBlock | TableBlock | RuleBlock;

interface Line {
  readonly start: number;
  /** Exclusive, before the '\n'. */
  readonly end: number;
  readonly text: string;
}

/** A source range that contributes to an inline run (one per line). */
interface Segment {
  readonly start: number;
  readonly end: number;
}

const FENCE = /^(\s*)(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+|$)/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+|$)/;
const QUOTE = /^ {0,3}> ?/;
const TABLE_SEPARATOR = /^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$/;

/** Parses a whole (possibly partial, still streaming) answer. */
export function parseMarkdown(source: string): Block[] {
  const lines = splitLines(source);
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.text.trim() === '') {
      i++;
      continue;
    }
    const fence = FENCE.exec(line.text);
    if (fence) {
      i = parseFence(source, lines, i, fence, blocks);
      continue;
    }
    const heading = HEADING.exec(line.text);
    if (heading) {
      const level = heading[1].length;
      let contentStart = line.start + heading[0].length;
      let contentEnd = line.end;
      // A closing run of '#' preceded by a space is not content.
      const closing = /[ \t]+#+[ \t]*$/.exec(source.slice(contentStart, contentEnd));
      if (closing) contentEnd = contentStart + closing.index;
      contentEnd = trimEnd(source, contentStart, contentEnd);
      contentStart = Math.min(contentStart, contentEnd);
      blocks.push({
        kind: 'heading',
        level,
        inlines: parseInlines(source, [{ start: contentStart, end: contentEnd }]),
        start: line.start,
        end: line.end,
      });
      i++;
      continue;
    }
    if (RULE.test(line.text)) {
      blocks.push({ kind: 'rule', start: line.start, end: line.end });
      i++;
      continue;
    }
    if (LIST_ITEM.test(line.text)) {
      i = parseList(source, lines, i, blocks);
      continue;
    }
    if (QUOTE.test(line.text)) {
      const segments: Segment[] = [];
      const start = line.start;
      let end = line.end;
      while (i < lines.length && QUOTE.test(lines[i].text)) {
        const m = QUOTE.exec(lines[i].text) as RegExpExecArray;
        segments.push({ start: lines[i].start + m[0].length, end: lines[i].end });
        end = lines[i].end;
        i++;
      }
      blocks.push({ kind: 'quote', inlines: parseInlines(source, segments), start, end });
      continue;
    }
    if (isTableStart(lines, i)) {
      i = parseTable(source, lines, i, blocks);
      continue;
    }
    // Paragraph: lines until a blank line or the start of another block.
    const segments: Segment[] = [];
    const start = line.start;
    let end = line.end;
    while (i < lines.length && lines[i].text.trim() !== '') {
      const t = lines[i].text;
      if (segments.length > 0 && (startsBlock(t) || isTableStart(lines, i))) break;
      const lead = t.length - t.trimStart().length;
      segments.push({ start: lines[i].start + lead, end: trimEnd(source, lines[i].start + lead, lines[i].end) });
      end = lines[i].end;
      i++;
    }
    blocks.push({ kind: 'paragraph', inlines: parseInlines(source, segments), start, end });
  }
  return blocks;
}

function startsBlock(text: string): boolean {
  return FENCE.test(text) || HEADING.test(text) || RULE.test(text) || LIST_ITEM.test(text) || QUOTE.test(text);
}

function splitLines(source: string): Line[] {
  const lines: Line[] = [];
  let at = 0;
  while (at <= source.length) {
    let nl = source.indexOf('\n', at);
    if (nl < 0) nl = source.length;
    // A '\r' before '\n' is not content.
    const end = nl > at && source[nl - 1] === '\r' ? nl - 1 : nl;
    lines.push({ start: at, end, text: source.slice(at, end) });
    at = nl + 1;
  }
  return lines;
}

function parseFence(source: string, lines: Line[], i: number, fence: RegExpExecArray, blocks: Block[]): number {
  const open = lines[i];
  const marker = fence[2];
  const close = new RegExp(`^\\s*${marker[0] === '`' ? '`' : '~'}{${marker.length},}[ \\t]*$`);
  let j = i + 1;
  while (j < lines.length && !close.test(lines[j].text)) j++;
  const closed = j < lines.length;
  const contentStart = i + 1 < lines.length ? lines[i + 1].start : open.end;
  // The content ends before the '\n' that precedes the closing fence (or at the source's end).
  const contentEnd = closed ? Math.max(contentStart, lines[j].start - 1) : source.length;
  const code = source.slice(contentStart, Math.max(contentStart, contentEnd));
  blocks.push({
    kind: 'code',
    lang: fence[3],
    children: splitFileRefs(code, contentStart),
    code,
    closed,
    start: open.start,
    end: closed ? lines[j].end : source.length,
  });
  return closed ? j + 1 : lines.length;
}

function parseList(source: string, lines: Line[], i: number, blocks: Block[]): number {
  const items: ListItem[] = [];
  const start = lines[i].start;
  let end = lines[i].end;
  const indents: number[] = [];
  while (i < lines.length) {
    const m = LIST_ITEM.exec(lines[i].text);
    if (!m) break;
    const indent = m[1].length;
    // Depth: how many open items this one is indented past.
    while (indents.length > 0 && indent < indents[indents.length - 1] + 2) indents.pop();
    const depth = indents.length;
    indents.push(indent);
    const marker = m[2];
    const segments: Segment[] = [{ start: lines[i].start + m[0].length, end: lines[i].end }];
    end = lines[i].end;
    i++;
    // Continuation lines: non-blank lines that do not start another block.
    while (i < lines.length && lines[i].text.trim() !== '' && !startsBlock(lines[i].text)) {
      const t = lines[i].text;
      const lead = t.length - t.trimStart().length;
      segments.push({ start: lines[i].start + lead, end: lines[i].end });
      end = lines[i].end;
      i++;
    }
    const ordered = /\d/.test(marker[0]);
    items.push({
      depth,
      ordered,
      number: ordered ? parseInt(marker, 10) : 0,
      inlines: parseInlines(source, segments.map((s) => ({ start: s.start, end: trimEnd(source, s.start, s.end) }))),
    });
    // A blank line between items keeps the list going (a loose list).
    let k = i;
    while (k < lines.length && lines[k].text.trim() === '') k++;
    if (k > i && k < lines.length && LIST_ITEM.test(lines[k].text)) i = k;
  }
  blocks.push({ kind: 'list', items, start, end });
  return i;
}

function isTableStart(lines: Line[], i: number): boolean {
  const head = lines[i]?.text;
  const sep = lines[i + 1]?.text;
  return head !== undefined && sep !== undefined && head.includes('|') && TABLE_SEPARATOR.test(sep) && sep.includes('-');
}

function parseTable(source: string, lines: Line[], i: number, blocks: Block[]): number {
  const start = lines[i].start;
  const header = splitCells(source, lines[i]);
  const align: Align[] = splitCells(source, lines[i + 1]).map((c) => {
    const t = source.slice(c.start, c.end).trim();
    const left = t.startsWith(':');
    const right = t.endsWith(':');
    return left && right ? 'center' : right ? 'right' : left ? 'left' : undefined;
  });
  let end = lines[i + 1].end;
  i += 2;
  const rows: (readonly Inline[])[][] = [];
  while (i < lines.length && lines[i].text.trim() !== '' && lines[i].text.includes('|')) {
    rows.push(splitCells(source, lines[i]).map((c) => parseInlines(source, [c])));
    end = lines[i].end;
    i++;
  }
  blocks.push({ kind: 'table', align, header: header.map((c) => parseInlines(source, [c])), rows, start, end });
  return i;
}

/** Cell ranges of a table row: split at '|' outside code spans and not escaped; outer pipes dropped; trimmed. */
function splitCells(source: string, line: Line): Segment[] {
  const cells: Segment[] = [];
  let cellStart = line.start;
  let inCode = 0;
  for (let p = line.start; p < line.end; p++) {
    const ch = source[p];
    if (ch === '\\') {
      p++;
      continue;
    }
    if (ch === '`') {
      let n = 1;
      while (source[p + n] === '`') n++;
      inCode = inCode === 0 ? n : inCode === n ? 0 : inCode;
      p += n - 1;
      continue;
    }
    if (ch === '|' && inCode === 0) {
      cells.push({ start: cellStart, end: p });
      cellStart = p + 1;
    }
  }
  cells.push({ start: cellStart, end: line.end });
  const trimmed = cells.map((c) => {
    let s = c.start;
    let e = c.end;
    while (s < e && /\s/.test(source[s])) s++;
    while (e > s && /\s/.test(source[e - 1])) e--;
    return { start: s, end: e };
  });
  // Leading and trailing pipes leave empty first/last cells.
  if (trimmed.length > 1 && trimmed[0].start === trimmed[0].end) trimmed.shift();
  if (trimmed.length > 1 && trimmed[trimmed.length - 1].start === trimmed[trimmed.length - 1].end) trimmed.pop();
  return trimmed;
}

function trimEnd(source: string, start: number, end: number): number {
  while (end > start && (source[end - 1] === ' ' || source[end - 1] === '\t')) end--;
  return end;
}

// ── Inlines ──────────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Inline content of `segments` (one per line). The parser works on the segments joined by '\n' and maps each text
 * node back to the source; text never crosses a '\n' (that is a break node), so every text node is a source slice.
 */
export function parseInlines(source: string, segments: readonly Segment[]): Inline[] {
  const content = segments.map((s) => source.slice(s.start, s.end)).join('\n');
  const offsets: number[] = [];
  let at = 0;
  for (const s of segments) {
    offsets.push(at);
    at += s.end - s.start + 1;
  }
  const toSource = (c: number): number => {
    let k = segments.length - 1;
    while (k > 0 && offsets[k] > c) k--;
    return segments[k].start + (c - offsets[k]);
  };
  return new InlineParser(content, toSource).parse(0, content.length);
}

const PUNCTUATION = /[!-/:-@[-`{-~]/;

class InlineParser {
  constructor(
    private readonly c: string,
    private readonly toSource: (offset: number) => number,
  ) {}

  parse(from: number, to: number): Inline[] {
    const out: Inline[] = [];
    const c = this.c;
    let textStart = from;
    const flush = (until: number): void => {
      if (until > textStart) out.push(...splitFileRefs(c.slice(textStart, until), this.toSource(textStart)));
    };
    let i = from;
    while (i < to) {
      const ch = c[i];
      if (ch === '\n') {
        flush(i);
        out.push({ kind: 'break' });
        textStart = ++i;
        continue;
      }
      if (ch === '\\' && i + 1 < to && PUNCTUATION.test(c[i + 1])) {
        flush(i);
        out.push({ kind: 'text', text: c[i + 1], start: this.toSource(i + 1) });
        i += 2;
        textStart = i;
        continue;
      }
      const node = this.tryConstruct(i, to);
      if (node) {
        flush(i);
        out.push(node.node);
        i = node.next;
        textStart = i;
        continue;
      }
      // A backtick run that opens no code span is literal as a whole (its tail must not open a shorter span).
      i += ch === '`' ? this.runLength(i, '`', to) : 1;
    }
    flush(to);
    return out;
  }

  private tryConstruct(i: number, to: number): { node: Inline; next: number } | undefined {
    const c = this.c;
    const ch = c[i];
    if (ch === '`') return this.codeSpan(i, to);
    if (ch === '*' || ch === '_') return this.emphasis(i, to, ch);
    if (ch === '~' && c[i + 1] === '~') return this.delimited(i, to, '~', 2, 'del');
    if (ch === '[') return this.link(i, to, false);
    if (ch === '!' && c[i + 1] === '[') return this.link(i + 1, to, true);
    return undefined;
  }

  /** Consecutive `ch` from i, not past `to`. */
  private runLength(i: number, ch: string, to = this.c.length): number {
    let n = 0;
    while (i + n < to && this.c[i + n] === ch) n++;
    return n;
  }

  private codeSpan(i: number, to: number): { node: Inline; next: number } | undefined {
    const c = this.c;
    const n = this.runLength(i, '`', to);
    let j = i + n;
    while (j < to && c[j] !== '\n') {
      if (c[j] === '`') {
        const m = this.runLength(j, '`', to);
        if (m === n) {
          let a = i + n;
          let b = j;
          // One space on both sides is padding, not content.
          if (b - a >= 2 && c[a] === ' ' && c[b - 1] === ' ' && c.slice(a, b).trim() !== '') {
            a++;
            b--;
          }
          const children = b > a ? splitFileRefs(c.slice(a, b), this.toSource(a)) : [];
          return { node: { kind: 'codeSpan', children }, next: j + n };
        }
        j += m;
        continue;
      }
      j++;
    }
    return undefined;
  }

  private emphasis(i: number, to: number, ch: '*' | '_'): { node: Inline; next: number } | undefined {
    const c = this.c;
    const run = this.runLength(i, ch, to);
    // '_' inside a word (snake_case) is not emphasis.
    if (ch === '_' && i > 0 && /[\p{L}\p{N}]/u.test(c[i - 1])) return undefined;
    // A run of two or more opens strong or nothing here; its last delimiter may still open em further on.
    if (run >= 2) return this.delimited(i, to, ch, 2, 'strong');
    return this.delimited(i, to, ch, 1, 'em');
  }

  /** `len` delimiters, content, the same `len` delimiters; the opener must precede non-space, the closer follow it. */
  private delimited(
    i: number,
    to: number,
    ch: string,
    len: number,
    kind: 'strong' | 'em' | 'del',
  ): { node: Inline; next: number } | undefined {
    const c = this.c;
    const from = i + len;
    if (from >= to || /\s/.test(c[from])) return undefined;
    let j = from;
    while (j < to) {
      if (c[j] === '`') {
        // Delimiters inside a code span do not close.
        const span = this.codeSpan(j, to);
        j = span ? span.next : j + this.runLength(j, '`', to);
        continue;
      }
      if (c[j] === '\\') {
        j += 2;
        continue;
      }
      if (c[j] === ch) {
        const m = this.runLength(j, ch, to);
        // '***' closes both an inner and an outer emphasis: the outer one takes its last `len` delimiters.
        const fits = m === len || m === 3;
        const afterOk = ch !== '_' || !/[\p{L}\p{N}]/u.test(c[j + m] ?? '');
        if (fits && j > from && !/\s/.test(c[j - 1]) && afterOk) {
          const close = j + m - len;
          return { node: { kind, children: this.parse(from, close) }, next: close + len };
        }
        j += m;
        continue;
      }
      j++;
    }
    return undefined;
  }

  /** [text](target) at `i` (the '['); an image when `image` ('!' precedes). */
  private link(i: number, to: number, image: boolean): { node: Inline; next: number } | undefined {
    const c = this.c;
    let depth = 0;
    let j = i;
    for (; j < to; j++) {
      if (c[j] === '\\') {
        j++;
        continue;
      }
      if (c[j] === '[') depth++;
      else if (c[j] === ']' && --depth === 0) break;
    }
    if (j >= to || c[j + 1] !== '(') return undefined;
    let k = j + 2;
    let parens = 1;
    for (; k < to; k++) {
      if (c[k] === '\\') {
        k++;
        continue;
      }
      if (c[k] === '(') parens++;
      else if (c[k] === ')' && --parens === 0) break;
      else if (c[k] === '\n') return undefined;
    }
    if (k >= to) return undefined;
    const target = stripTitle(c.slice(j + 2, k));
    const children = this.parse(i + 1, j);
    const ref = image ? undefined : parseFileRefTarget(target);
    const node: Inline = ref
      ? { kind: 'fileRef', ref, children }
      : { kind: 'inertLink', image, target, children };
    return { node, next: k + 1 };
  }
}

/** A link target without its optional "title" and angle brackets. */
function stripTitle(raw: string): string {
  let t = raw.trim();
  const titled = /^(\S+)\s+(?:"[^"]*"|'[^']*'|\([^)]*\))$/.exec(t);
  if (titled) t = titled[1];
  if (t.startsWith('<') && t.endsWith('>')) t = t.slice(1, -1);
  return t;
}

/** Text at source offset `start` as text nodes and bare file refs (each ref's text is its one child). */
export function splitFileRefs(text: string, start: number): (TextNode | FileRefNode)[] {
  const out: (TextNode | FileRefNode)[] = [];
  let at = 0;
  for (const r of findFileRefs(text)) {
    if (r.start > at) out.push({ kind: 'text', text: text.slice(at, r.start), start: start + at });
    const { start: rs, end: re, ...ref } = r;
    out.push({ kind: 'fileRef', ref, children: [{ kind: 'text', text: text.slice(rs, re), start: start + rs }] });
    at = re;
  }
  if (at < text.length) out.push({ kind: 'text', text: text.slice(at), start: start + at });
  return out;
}
