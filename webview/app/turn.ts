// One question and its streamed answer in the chat: the question, the rendered answer, its citations once it has
// finished, a status line and the Copy / Stop / Heatmap buttons.
import type { Citation } from '../../gpu/citation';
import type { ErrorData, FinishReason, TurnSnapshot } from '../protocol';
import { AnswerView, type OpenTarget } from '../markdown/render';
import type { KnownFile } from '../markdown/fileRefs';

export interface TurnOptions {
  readonly interactive: boolean;
  readonly knownFiles: () => readonly KnownFile[] | undefined;
  readonly onOpen: (target: OpenTarget) => void;
  readonly onCopy: (text: string) => void;
  readonly onStop: (turnId: string) => void;
  readonly onShowHeatmap: (turnId: string) => void;
  readonly onHoverStep: (turnId: string, step: number | undefined) => void;
}

export class TurnView {
  readonly element: HTMLElement;
  readonly answer: AnswerView;
  private tokens: string[] = [];
  private status: TurnSnapshot['status'] = 'streaming';
  private error: ErrorData | undefined;
  private citations: readonly Citation[] = [];
  private readonly sources: HTMLElement;
  private readonly statusLine: HTMLElement;
  private readonly stopButton: HTMLButtonElement;
  private readonly copyButton: HTMLButtonElement;
  private readonly heatmapButton: HTMLButtonElement;

  constructor(
    private readonly doc: Document,
    readonly turnId: string,
    readonly question: string,
    private readonly options: TurnOptions,
  ) {
    this.element = doc.createElement('article');
    this.element.className = 'turn';
    this.element.setAttribute('aria-label', `Question: ${question}`);
    const q = doc.createElement('div');
    q.className = 'question';
    q.textContent = question;
    this.answer = new AnswerView(doc, {
      interactive: options.interactive,
      knownFiles: options.knownFiles,
      onOpen: options.onOpen,
      onCopy: options.onCopy,
      onHoverStep: (step) => options.onHoverStep(turnId, step),
    });
    this.sources = doc.createElement('div');
    this.sources.className = 'turn-sources';
    this.sources.setAttribute('aria-label', 'Sources of this answer');
    this.sources.hidden = true;
    this.statusLine = doc.createElement('div');
    this.statusLine.className = 'turn-status';
    this.statusLine.setAttribute('role', 'status');
    const actions = doc.createElement('div');
    actions.className = 'turn-actions';
    const button = (text: string, label: string, onClick: () => void): HTMLButtonElement => {
      const b = doc.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.textContent = text;
      b.setAttribute('aria-label', label);
      b.addEventListener('click', onClick);
      actions.append(b);
      return b;
    };
    this.copyButton = button('Copy', 'Copy the answer as markdown', () => {
      options.onCopy(this.answer.markdown);
      this.flashCopied();
    });
    this.stopButton = button('Stop', 'Stop generating this answer', () => {
      this.stopButton.disabled = true;
      options.onStop(turnId);
    });
    this.heatmapButton = button('Heatmap', 'Show the page selection heatmap of this answer', () =>
      options.onShowHeatmap(turnId),
    );
    this.heatmapButton.hidden = !options.interactive;
    this.element.append(q, this.answer.element, this.sources, this.statusLine, actions);
    this.update();
  }

  get snapshot(): TurnSnapshot {
    return {
      turnId: this.turnId,
      question: this.question,
      tokens: this.tokens,
      status: this.status,
      ...(this.error ? { error: this.error } : {}),
      ...(this.citations.length ? { citations: this.citations } : {}),
    };
  }

  get tokenCount(): number {
    return this.tokens.length;
  }

  restore(snapshot: TurnSnapshot): void {
    this.tokens = [...snapshot.tokens];
    this.status = snapshot.status;
    this.error = snapshot.error;
    this.answer.setTokens(this.tokens);
    this.setCitations(snapshot.citations ?? []);
    this.update();
  }

  /** Appends answer token `index`; false (and nothing changes) unless it is the next one. */
  appendToken(index: number, text: string): boolean {
    if (index !== this.tokens.length) return false;
    this.tokens.push(text);
    this.answer.appendToken(text);
    if (this.status !== 'streaming') {
      this.status = 'streaming';
      this.update();
    }
    return true;
  }

  finish(reason: FinishReason, error?: ErrorData, citations: readonly Citation[] = []): void {
    this.status = reason;
    this.error = error;
    this.answer.flush();
    this.setCitations(citations);
    this.update();
  }

  progress(text: string): void {
    if (this.status === 'streaming') this.statusLine.textContent = text;
  }

  /** Re-renders the answer (the manifest changed, so file references may resolve differently). */
  rerender(): void {
    this.answer.setTokens(this.tokens);
  }

  get streaming(): boolean {
    return this.status === 'streaming';
  }

  /** The Sources line: each citation opens its lines; attention citations say their share of the attention. */
  private setCitations(citations: readonly Citation[]): void {
    this.citations = citations;
    const items = citations.map((c) => {
      const where = `${c.path}:${c.line}${c.endLine > c.line ? `–${c.endLine}` : ''}`;
      const why = c.source === 'answer' ? 'written in the answer' : `${Math.round(c.mass * 100)}% of the answer's attention to the files`;
      const li = this.doc.createElement('li');
      li.className = `source ${c.source}`;
      const link = this.doc.createElement(this.options.interactive ? 'button' : 'span');
      link.className = 'link-button source-ref';
      link.textContent = where;
      link.title = `${where}: ${why}`;
      if (link instanceof HTMLButtonElement) {
        link.type = 'button';
        link.setAttribute('aria-label', `Open ${where} (${why})`);
        link.addEventListener('click', () => this.options.onOpen({ path: c.path, folder: c.folder, line: c.line, endLine: c.endLine }));
      }
      const note = this.doc.createElement('span');
      note.className = 'source-why';
      note.textContent = c.source === 'answer' ? 'cited' : `${Math.round(c.mass * 100)}% attention`;
      li.append(link, note);
      return li;
    });
    if (items.length === 0) {
      this.sources.replaceChildren();
      this.sources.hidden = true;
      return;
    }
    const label = this.doc.createElement('span');
    label.className = 'sources-label';
    label.textContent = 'Sources';
    const list = this.doc.createElement('ul');
    list.className = 'sources-list';
    list.append(...items);
    this.sources.replaceChildren(label, list);
    this.sources.hidden = false;
  }

  private update(): void {
    const streaming = this.status === 'streaming';
    this.answer.element.setAttribute('aria-busy', String(streaming));
    this.stopButton.hidden = !streaming || !this.options.interactive;
    this.stopButton.disabled = false;
    this.element.classList.toggle('streaming', streaming);
    this.element.classList.toggle('failed', this.status === 'error');
    this.statusLine.textContent = statusText(this.status, this.tokens.length, this.error);
  }

  private flashCopied(): void {
    this.copyButton.textContent = 'Copied';
    setTimeout(() => {
      this.copyButton.textContent = 'Copy';
    }, 1200);
  }
}

function statusText(status: TurnSnapshot['status'], tokens: number, error: ErrorData | undefined): string {
  switch (status) {
    case 'streaming':
      return tokens === 0 ? 'Working…' : '';
    case 'stop':
      return `${tokens} tokens`;
    case 'length':
      return `${tokens} tokens: stopped at the token limit`;
    case 'cancelled':
      return `${tokens} tokens: stopped`;
    case 'error':
      return `Failed: ${error?.message ?? 'unknown error'}`;
  }
}
