// Renders a streamed answer: markdown (parse.ts) into DOM nodes built with createElement and text nodes only. Model
// text never reaches innerHTML, an attribute that runs code, or a URL: the only links are file:line references, which
// carry no href and post 'editor/open' through `onOpen`. Text is split at answer-token boundaries into
// <span data-step="i"> so hovering a token can highlight its heatmap row (and the reverse).
import type { Block, CodeSpanNode, FileRefNode, Inline, ListItem, TextNode } from './parse';
import { parseMarkdown } from './parse';
import type { OpenTarget } from '../protocol';
import { resolveRefPath, type KnownFile } from './fileRefs';

export type { OpenTarget };

export interface AnswerOptions {
  /** False in a standalone file: references are shown but cannot open anything. */
  readonly interactive: boolean;
  /** The context's files, to resolve references; undefined before the manifest arrives. */
  readonly knownFiles: () => readonly KnownFile[] | undefined;
  readonly onOpen: (target: OpenTarget) => void;
  readonly onCopy: (text: string) => void;
  readonly onHoverStep?: (step: number | undefined) => void;
}

interface RenderedBlock {
  readonly key: string;
  readonly node: HTMLElement;
}

export class AnswerView {
  readonly element: HTMLElement;
  private text = '';
  /** tokenStarts[i] = offset of token i in `text`. */
  private readonly tokenStarts: number[] = [];
  private rendered: RenderedBlock[] = [];
  private frame = 0;
  private highlighted: number | undefined;

  constructor(
    private readonly doc: Document,
    private readonly options: AnswerOptions,
  ) {
    this.element = doc.createElement('div');
    this.element.className = 'answer markdown';
    this.element.addEventListener('click', (e) => this.onClick(e));
    this.element.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') this.onClick(e);
    });
    if (options.onHoverStep) {
      const hover = options.onHoverStep;
      this.element.addEventListener('mouseover', (e) => {
        const step = stepOf(e.target);
        if (step !== undefined) hover(step);
      });
      this.element.addEventListener('mouseleave', () => hover(undefined));
    }
  }

  /** The answer's markdown so far. */
  get markdown(): string {
    return this.text;
  }

  /** Replaces the whole answer (restore) and renders now. */
  setTokens(tokens: readonly string[]): void {
    this.text = '';
    this.tokenStarts.length = 0;
    for (const t of tokens) this.push(t);
    this.rendered = [];
    this.element.replaceChildren();
    this.render();
  }

  /** Appends one token; rendering waits for the next animation frame so bursts of tokens render once. */
  appendToken(text: string): void {
    this.push(text);
    if (this.frame === 0) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }
  }

  /** Renders pending tokens now (the stream ended, or a test wants the DOM). */
  flush(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.render();
  }

  /** Marks token `step`'s text (from a heatmap row hover); undefined clears. */
  highlightStep(step: number | undefined): void {
    if (step === this.highlighted) return;
    for (const el of this.element.querySelectorAll('.tok-hl')) el.classList.remove('tok-hl');
    this.highlighted = step;
    if (step === undefined) return;
    const spans = this.element.querySelectorAll(`[data-step="${step}"]`);
    spans.forEach((el) => el.classList.add('tok-hl'));
    spans[0]?.scrollIntoView({ block: 'nearest' });
  }

  dispose(): void {
    if (this.frame !== 0) cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  private push(token: string): void {
    this.tokenStarts.push(this.text.length);
    this.text += token;
  }

  private render(): void {
    const blocks = parseMarkdown(this.text);
    const next: RenderedBlock[] = [];
    // Blocks before the last one whose source range did not change render the same: keep their nodes.
    let keep = 0;
    while (
      keep < blocks.length - 1 &&
      keep < this.rendered.length &&
      this.rendered[keep].key === blockKey(blocks[keep])
    ) {
      next.push(this.rendered[keep]);
      keep++;
    }
    for (let i = keep; i < this.rendered.length; i++) this.rendered[i].node.remove();
    for (let i = keep; i < blocks.length; i++) {
      const node = this.renderBlock(blocks[i]);
      this.element.append(node);
      next.push({ key: blockKey(blocks[i]), node });
    }
    this.rendered = next;
    if (this.highlighted !== undefined) {
      const h = this.highlighted;
      this.highlighted = undefined;
      this.highlightStep(h);
    }
  }

  private el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string): HTMLElementTagNameMap[K] {
    const e = this.doc.createElement(tag);
    if (className) e.className = className;
    return e;
  }

  private renderBlock(block: Block): HTMLElement {
    switch (block.kind) {
      case 'paragraph': {
        const p = this.el('p');
        this.appendInlines(p, block.inlines);
        return p;
      }
      case 'heading': {
        // h1/h2 are too loud inside a chat turn: levels shift down by two (h3..h6).
        const tag = (['h3', 'h4', 'h5', 'h6', 'h6', 'h6'] as const)[block.level - 1];
        const h = this.el(tag);
        this.appendInlines(h, block.inlines);
        return h;
      }
      case 'code':
        return this.renderCodeBlock(block.lang, block.code, block.children, block.closed);
      case 'list':
        return this.renderList(block.items);
      case 'quote': {
        const q = this.el('blockquote');
        this.appendInlines(q, block.inlines);
        return q;
      }
      case 'table': {
        const wrap = this.el('div', 'table-wrap');
        const table = this.el('table');
        const head = this.el('thead');
        const tr = this.el('tr');
        block.header.forEach((cell, i) => tr.append(this.cell('th', cell, block.align[i])));
        head.append(tr);
        const body = this.el('tbody');
        for (const row of block.rows) {
          const r = this.el('tr');
          row.forEach((cell, i) => r.append(this.cell('td', cell, block.align[i])));
          body.append(r);
        }
        table.append(head, body);
        wrap.append(table);
        return wrap;
      }
      case 'rule':
        return this.el('hr');
    }
  }

  private cell(tag: 'th' | 'td', inlines: readonly Inline[], align: string | undefined): HTMLElement {
    const c = this.el(tag);
    if (align) c.style.textAlign = align;
    this.appendInlines(c, inlines);
    return c;
  }

  private renderCodeBlock(
    lang: string,
    code: string,
    children: readonly (TextNode | FileRefNode)[],
    closed: boolean,
  ): HTMLElement {
    const wrap = this.el('div', 'code-block');
    const head = this.el('div', 'code-head');
    const label = this.el('span', 'code-lang');
    label.textContent = lang;
    const copy = this.el('button', 'code-copy icon-button');
    copy.type = 'button';
    copy.textContent = 'Copy';
    copy.setAttribute('aria-label', `Copy ${lang ? `${lang} ` : ''}code${closed ? '' : ' (still streaming)'}`);
    copy.addEventListener('click', (e) => {
      e.stopPropagation();
      this.options.onCopy(code);
    });
    head.append(label, copy);
    const pre = this.el('pre');
    const codeEl = this.el('code');
    this.appendInlines(codeEl, children);
    pre.append(codeEl);
    wrap.append(head, pre);
    return wrap;
  }

  private renderList(items: readonly ListItem[]): HTMLElement {
    // A stack of open lists, one per depth; a nested list goes inside the previous item.
    const newList = (item: ListItem): HTMLOListElement | HTMLUListElement => {
      const list = item.ordered ? this.el('ol') : this.el('ul');
      if (item.ordered && item.number !== 1) list.setAttribute('start', String(item.number));
      return list;
    };
    const root = newList(items[0]);
    const stack: (HTMLOListElement | HTMLUListElement)[] = [root];
    let lastItem: HTMLLIElement | undefined;
    for (const item of items) {
      const depth = Math.min(item.depth, stack.length);
      while (stack.length - 1 > depth) stack.pop();
      if (stack.length - 1 < depth && lastItem) {
        const nested = newList(item);
        lastItem.append(nested);
        stack.push(nested);
      }
      const li = this.el('li');
      this.appendInlines(li, item.inlines);
      stack[stack.length - 1].append(li);
      lastItem = li;
    }
    return root;
  }

  private appendInlines(parent: HTMLElement, inlines: readonly Inline[]): void {
    for (const node of inlines) this.appendInline(parent, node);
  }

  private appendInline(parent: HTMLElement, node: Inline): void {
    switch (node.kind) {
      case 'text':
        this.appendText(parent, node);
        return;
      case 'break':
        parent.append(this.el('br'));
        return;
      case 'codeSpan':
        parent.append(this.codeSpan(node));
        return;
      case 'strong':
      case 'em':
      case 'del': {
        const e = this.el(node.kind === 'strong' ? 'strong' : node.kind === 'em' ? 'em' : 'del');
        this.appendInlines(e, node.children);
        parent.append(e);
        return;
      }
      case 'fileRef':
        parent.append(this.fileRef(node));
        return;
      case 'inertLink': {
        // Never followed: no href, no src. The target shows in a tooltip so nothing is hidden.
        const span = this.el('span', 'inert-link');
        span.title = `${node.image ? 'Image' : 'Link'} not opened: ${node.target}`;
        if (node.image) span.append(this.doc.createTextNode('[image: '));
        this.appendInlines(span, node.children);
        if (node.image) span.append(this.doc.createTextNode(']'));
        parent.append(span);
        return;
      }
    }
  }

  private codeSpan(node: CodeSpanNode): HTMLElement {
    const code = this.el('code');
    this.appendInlines(code, node.children);
    return code;
  }

  private fileRef(node: FileRefNode): HTMLElement {
    const resolved = resolveRefPath(node.ref.path, this.options.knownFiles());
    const where = `${node.ref.path}:${node.ref.line}${node.ref.endLine !== undefined ? `-${node.ref.endLine}` : ''}`;
    if (resolved === undefined) {
      // Not a file of this context: plain text, not a link.
      const span = this.el('span');
      this.appendInlines(span, node.children);
      return span;
    }
    if (!this.options.interactive) {
      const span = this.el('span', 'file-ref inert');
      span.title = where;
      this.appendInlines(span, node.children);
      return span;
    }
    // An anchor without href (so nothing can navigate): focusable, announced as a link, opened by onClick.
    const a = this.el('a', 'file-ref');
    a.tabIndex = 0;
    a.setAttribute('role', 'link');
    a.title = `Open ${resolved.display} at line ${node.ref.line}`;
    a.dataset.path = resolved.path;
    if (resolved.folder !== undefined) a.dataset.folder = String(resolved.folder);
    a.dataset.line = String(node.ref.line);
    if (node.ref.endLine !== undefined) a.dataset.endLine = String(node.ref.endLine);
    this.appendInlines(a, node.children);
    return a;
  }

  /** Text split at token boundaries: one <span data-step> per token piece. */
  private appendText(parent: HTMLElement, node: TextNode): void {
    const starts = this.tokenStarts;
    if (starts.length === 0) {
      parent.append(this.doc.createTextNode(node.text));
      return;
    }
    const end = node.start + node.text.length;
    let t = upperBound(starts, node.start) - 1;
    let at = node.start;
    while (at < end) {
      const next = t + 1 < starts.length ? Math.min(end, starts[t + 1]) : end;
      if (next > at) {
        const span = this.el('span', 'tok');
        span.dataset.step = String(Math.max(0, t));
        span.textContent = node.text.slice(at - node.start, next - node.start);
        parent.append(span);
      }
      at = next;
      t++;
    }
  }

  private onClick(e: Event): void {
    const target = e.target instanceof Element ? e.target.closest('a.file-ref') : null;
    if (!(target instanceof HTMLElement) || !this.options.interactive) return;
    e.preventDefault();
    const { path, line, endLine, folder } = target.dataset;
    if (!path || !line) return;
    this.options.onOpen({
      path,
      line: Number(line),
      ...(endLine !== undefined ? { endLine: Number(endLine) } : {}),
      ...(folder !== undefined ? { folder: Number(folder) } : {}),
    });
  }
}

function blockKey(b: Block): string {
  return `${b.kind}:${b.start}:${b.end}`;
}

function stepOf(target: EventTarget | null): number | undefined {
  if (!(target instanceof Element)) return undefined;
  const el = target.closest('[data-step]');
  if (!(el instanceof HTMLElement) || el.dataset.step === undefined) return undefined;
  return Number(el.dataset.step);
}

/** First index i with a[i] > v. */
function upperBound(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
