// The heatmap panel beside the editor (and the CLI's standalone HTML heatmap): the answer's tokens above a full-size
// heatmap. Hovering a token highlights its row; hovering a row highlights its token.
import type { Host } from '../host';
import type { HeatmapData, HeatmapPanelState, InitialData, ToWebview } from '../protocol';
import { HeatmapView, type HeatmapViewState } from '../heatmap/view';
import { AnswerView } from '../markdown/render';
import { toErrorData } from '../errors';
import { assertNever } from './chatApp';

/** The panel's view state; `turnId` (HeatmapPanelState) is for the host's serializer. */
interface PanelViewState extends HeatmapPanelState {
  readonly heatmap?: HeatmapViewState;
}

export class PanelApp {
  private readonly heatmap: HeatmapView;
  private readonly answer: AnswerView;
  private readonly title: HTMLElement;
  private readonly banner: HTMLElement;
  private turnId: string | undefined;
  private tokens = 0;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    doc: Document,
    root: HTMLElement,
    data: InitialData,
    private readonly host: Host,
  ) {
    root.className = 'app panel';
    const saved = (host.getState() ?? {}) as PanelViewState;
    this.banner = doc.createElement('div');
    this.banner.className = 'banner';
    this.banner.setAttribute('role', 'alert');
    this.banner.hidden = true;
    this.title = doc.createElement('h2');
    this.title.className = 'panel-title';
    this.title.textContent = data.title ?? 'Page selection';
    this.heatmap = new HeatmapView(doc, {
      interactive: host.interactive,
      compact: false,
      onOpen: (t) => host.post('editor/open', t),
      onHoverStep: (step) => this.answer.highlightStep(step),
      onStateChange: () => this.saveSoon(),
      onError: (err) => this.fail(err),
    });
    this.answer = new AnswerView(doc, {
      interactive: host.interactive,
      knownFiles: () => this.heatmap.knownFiles,
      onOpen: (t) => host.post('editor/open', t),
      onCopy: (text) => {
        if (host.interactive) host.post('clipboard/write', { text });
        else void navigator.clipboard?.writeText(text).catch(() => {});
      },
      onHoverStep: (step) => this.heatmap.highlightStep(step),
    });
    const answerBox = doc.createElement('section');
    answerBox.className = 'panel-answer';
    answerBox.setAttribute('aria-label', 'Answer tokens');
    answerBox.append(this.answer.element);
    if (saved.heatmap) this.heatmap.restoreState(saved.heatmap);
    root.replaceChildren(this.banner, this.title, answerBox, this.heatmap.element);
    if (data.heatmap) this.show(data.heatmap);
  }

  receive(msg: ToWebview): void {
    switch (msg.type) {
      case 'heatmap/didUpdate': {
        const { type: _type, ...data } = msg;
        this.show(data);
        return;
      }
      case 'answer/didAppendToken':
        if (msg.turnId !== this.turnId || msg.index !== this.tokens) return;
        this.tokens++;
        this.answer.appendToken(msg.text);
        if (msg.step) this.heatmap.appendStep(msg.step);
        return;
      case 'answer/didFinish':
        if (msg.turnId === this.turnId) this.answer.flush();
        if (msg.error) this.showBanner(msg.error.message);
        return;
      case 'chat/didFail':
        this.showBanner(msg.error.message);
        return;
      case 'chat/didClear':
        this.turnId = undefined;
        this.tokens = 0;
        this.answer.setTokens([]);
        this.heatmap.clear();
        return;
      case 'chat/didRestore':
      case 'chat/didStart':
      case 'chat/didProgress':
      case 'chat/didUpdateWelcome':
        return;
      default:
        assertNever(msg);
    }
  }

  private show(data: HeatmapData): void {
    this.banner.hidden = true;
    this.turnId = data.turnId;
    this.heatmap.setData(data);
    // The answer is the trace's token texts (a standalone file has nothing else).
    const texts = data.trace.steps.map((s) => s.text);
    this.tokens = texts.length;
    this.answer.setTokens(texts);
    this.saveSoon();
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

  private saveSoon(): void {
    if (this.saveTimer !== undefined) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.host.setState({ heatmap: this.heatmap.state, ...(this.turnId ? { turnId: this.turnId } : {}) } satisfies PanelViewState);
    }, 250);
  }
}
