// The chat view: the turn list, the question box, and the heatmap of one turn below the turns. It handles the host's
// messages and keeps only view state (draft, heatmap zoom/mode, scroll) in getState/setState: the host owns the
// conversation and resends it (`chat/didRestore`) after every `webview/ready`.
import type { Host } from '../host';
import type { HeatmapData, InitialData, ToWebview, TurnSnapshot } from '../protocol';
import { HeatmapView, type HeatmapViewState } from '../heatmap/view';
import { toErrorData } from '../errors';
import { TurnView } from './turn';

interface ChatViewState {
  readonly draft: string;
  readonly heatmapOpen: boolean;
  readonly heatmap?: HeatmapViewState;
  readonly scrollTop: number;
}

export class ChatApp {
  private readonly turns = new Map<string, TurnView>();
  private readonly list: HTMLElement;
  private readonly banner: HTMLElement;
  /** Shown while there are no turns: the model and what it can answer (`chat/didUpdateWelcome`). */
  private readonly welcome: HTMLElement;
  private readonly heatmap: HeatmapView;
  private readonly details: HTMLDetailsElement;
  private readonly heatmapTitle: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly askButton: HTMLButtonElement;
  private heatmapTurn: string | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly doc: Document,
    root: HTMLElement,
    data: InitialData,
    private readonly host: Host,
  ) {
    const saved = (host.getState() ?? {}) as Partial<ChatViewState>;
    root.className = 'app chat';
    this.banner = doc.createElement('div');
    this.banner.className = 'banner';
    this.banner.setAttribute('role', 'alert');
    this.banner.hidden = true;
    this.welcome = doc.createElement('div');
    this.welcome.className = 'welcome';
    this.welcome.hidden = true;
    this.list = doc.createElement('div');
    this.list.className = 'turns';
    this.list.setAttribute('role', 'log');
    this.list.setAttribute('aria-label', 'Questions and answers');
    this.list.addEventListener('scroll', () => this.saveSoon());

    this.details = doc.createElement('details');
    this.details.className = 'heatmap-details';
    this.details.open = saved.heatmapOpen ?? true;
    this.details.addEventListener('toggle', () => this.saveSoon());
    const summary = doc.createElement('summary');
    this.heatmapTitle = doc.createElement('span');
    this.heatmapTitle.textContent = 'Page selection';
    summary.append(this.heatmapTitle);
    this.heatmap = new HeatmapView(doc, {
      interactive: host.interactive,
      compact: true,
      onOpen: (t) => host.post('editor/open', t),
      onHoverStep: (step) => {
        if (this.heatmapTurn) this.turns.get(this.heatmapTurn)?.answer.highlightStep(step);
      },
      onStateChange: () => this.saveSoon(),
      onError: (err) => this.fail(err),
      ...(host.interactive
        ? { onOpenBeside: () => this.heatmapTurn && host.post('heatmap/open', { turnId: this.heatmapTurn, where: 'beside' }) }
        : {}),
    });
    if (saved.heatmap) this.heatmap.restoreState(saved.heatmap);
    this.details.append(summary, this.heatmap.element);

    const form = doc.createElement('form');
    form.className = 'ask';
    this.input = doc.createElement('textarea');
    this.input.rows = 2;
    this.input.placeholder = 'Ask about your workspace (Enter to send, Shift+Enter for a new line)';
    this.input.setAttribute('aria-label', 'Question about your workspace');
    this.input.value = saved.draft ?? '';
    this.input.addEventListener('input', () => this.saveSoon());
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    this.askButton = doc.createElement('button');
    this.askButton.type = 'submit';
    this.askButton.textContent = 'Ask';
    form.append(this.input, this.askButton);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.ask();
    });
    form.hidden = !host.interactive;

    root.replaceChildren(this.banner, this.welcome, this.list, this.details, form);
    if (data.turns) this.restoreTurns(data.turns);
    if (data.heatmap) this.showHeatmap(data.heatmap);
    if (saved.scrollTop !== undefined) this.list.scrollTop = saved.scrollTop;
  }

  receive(msg: ToWebview): void {
    switch (msg.type) {
      case 'chat/didRestore':
        this.restoreTurns(msg.turns);
        return;
      case 'chat/didStart': {
        this.hideBanner();
        const turn = this.addTurn(msg.turnId, msg.question);
        turn.element.scrollIntoView({ block: 'end' });
        this.updateAsk();
        return;
      }
      case 'chat/didProgress': {
        const pct = msg.total > 0 ? Math.floor((100 * msg.done) / msg.total) : 0;
        const phase = { load: 'Loading the model', tokenize: 'Reading the workspace', prefill: 'Prefill' }[msg.phase];
        this.turns.get(msg.turnId)?.progress(`${phase}: ${pct}% (${msg.done.toLocaleString()} of ${msg.total.toLocaleString()})`);
        return;
      }
      case 'chat/didFail':
        this.showBanner(msg.error.message);
        return;
      case 'chat/didClear':
        this.turns.clear();
        this.list.replaceChildren();
        this.heatmapTurn = undefined;
        this.heatmap.clear();
        this.updateAsk();
        return;
      case 'chat/didUpdateWelcome':
        this.showWelcome(msg.model, msg.about);
        return;
      case 'answer/didAppendToken': {
        const turn = this.turns.get(msg.turnId);
        if (!turn) return;
        if (!turn.appendToken(msg.index, msg.text)) {
          this.host.post('webview/didFail', {
            error: {
              kind: 'error',
              code: 'out-of-order',
              message: `answer/didAppendToken for turn ${msg.turnId}: index ${msg.index} must be the next token (${turn.tokenCount}); dropped`,
            },
          });
          return;
        }
        if (msg.step && this.heatmapTurn === msg.turnId && this.heatmap.hasData) this.heatmap.appendStep(msg.step);
        this.followTail();
        return;
      }
      case 'answer/didFinish':
        this.turns.get(msg.turnId)?.finish(msg.reason, msg.error, msg.citations);
        this.updateAsk();
        return;
      case 'heatmap/didUpdate': {
        const { type: _type, ...data } = msg;
        this.showHeatmap(data);
        return;
      }
      default:
        assertNever(msg);
    }
  }

  private showHeatmap(data: HeatmapData): void {
    this.heatmapTurn = data.turnId;
    const turn = this.turns.get(data.turnId);
    this.heatmapTitle.textContent = turn ? `Page selection: ${truncate(turn.question, 60)}` : 'Page selection';
    this.heatmap.setData(data);
    // File references resolve against the manifest's paths: render the answers again with them.
    for (const t of this.turns.values()) t.rerender();
  }

  private restoreTurns(turns: readonly TurnSnapshot[]): void {
    this.turns.clear();
    this.list.replaceChildren();
    for (const snap of turns) this.addTurn(snap.turnId, snap.question).restore(snap);
    this.updateAsk();
  }

  private addTurn(turnId: string, question: string): TurnView {
    const turn = new TurnView(this.doc, turnId, question, {
      interactive: this.host.interactive,
      knownFiles: () => this.heatmap.knownFiles,
      onOpen: (t) => this.host.post('editor/open', t),
      onCopy: (text) => this.copy(text),
      onStop: (id) => this.host.post('chat/stop', { turnId: id }),
      onShowHeatmap: (id) => this.host.post('heatmap/open', { turnId: id, where: 'view' }),
      onHoverStep: (id, step) => {
        if (id === this.heatmapTurn) this.heatmap.highlightStep(step);
      },
    });
    this.turns.set(turnId, turn);
    this.list.append(turn.element);
    return turn;
  }

  private ask(): void {
    const question = this.input.value.trim();
    if (!question || this.busy()) return;
    this.host.post('chat/ask', { question });
    this.input.value = '';
    this.saveSoon();
  }

  private busy(): boolean {
    for (const t of this.turns.values()) if (t.streaming) return true;
    return false;
  }

  private updateAsk(): void {
    this.askButton.disabled = this.busy();
    // The welcome belongs to an empty conversation (it has content once the host sent one).
    this.welcome.hidden = this.turns.size > 0 || !this.welcome.hasChildNodes();
  }

  private showWelcome(model: string, about: string | undefined): void {
    const d = this.doc;
    const title = d.createElement('p');
    title.className = 'welcome-model';
    title.textContent = `Model: ${model}`;
    const parts: HTMLElement[] = [title];
    if (about) {
      const text = d.createElement('p');
      text.textContent = about;
      parts.push(text);
    }
    if (this.host.interactive) {
      const select = d.createElement('button');
      select.type = 'button';
      select.textContent = 'Select Model…';
      select.addEventListener('click', () => this.host.post('model/select', {}));
      parts.push(select);
    }
    this.welcome.replaceChildren(...parts);
    this.updateAsk();
  }

  private copy(text: string): void {
    if (this.host.interactive) this.host.post('clipboard/write', { text });
    else void navigator.clipboard?.writeText(text).catch(() => {});
  }

  /** Keeps the newest tokens in view unless the user scrolled up. */
  private followTail(): void {
    const l = this.list;
    if (l.scrollHeight - l.scrollTop - l.clientHeight < 80) l.scrollTop = l.scrollHeight;
  }

  private fail(err: unknown): void {
    const error = toErrorData(err);
    this.showBanner(error.message);
    this.host.post('webview/didFail', { error });
  }

  private showBanner(text: string): void {
    this.banner.textContent = text;
    this.banner.hidden = false;
  }

  private hideBanner(): void {
    this.banner.hidden = true;
  }

  private saveSoon(): void {
    if (this.saveTimer !== undefined) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      const state: ChatViewState = {
        draft: this.input.value,
        heatmapOpen: this.details.open,
        heatmap: this.heatmap.state,
        scrollTop: this.list.scrollTop,
      };
      this.host.setState(state);
    }, 250);
  }
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function assertNever(x: never): void {
  // A message type this page does not know (a newer host): ignored, not fatal.
  void x;
}
