// The heatmap's tooltip: lines of text (and a page snippet) near the pointer, kept inside its host. Text only.

export class Tooltip {
  readonly element: HTMLElement;

  constructor(
    private readonly doc: Document,
    private readonly host: HTMLElement,
  ) {
    this.element = doc.createElement('div');
    this.element.className = 'hm-tooltip';
    this.element.setAttribute('role', 'tooltip');
    this.element.hidden = true;
    host.append(this.element);
  }

  show(lines: readonly string[], snippet: string | undefined, at?: MouseEvent): void {
    const nodes: Node[] = lines.map((l, i) => {
      const div = this.doc.createElement('div');
      div.className = i === 0 ? 'hm-tip-title' : 'hm-tip-line';
      div.textContent = l;
      return div;
    });
    if (snippet !== undefined) {
      const pre = this.doc.createElement('pre');
      pre.className = 'hm-tip-snippet';
      pre.textContent = snippet.length > 400 ? `${snippet.slice(0, 399)}…` : snippet;
      nodes.push(pre);
    }
    this.element.replaceChildren(...nodes);
    this.element.hidden = false;
    if (at) this.place(at);
  }

  /** Below-right of the pointer, flipped left/up where it would leave the host or the window. */
  place(at: MouseEvent): void {
    const host = this.host.getBoundingClientRect();
    const tip = this.element.getBoundingClientRect();
    let left = at.clientX - host.left + 14;
    let top = at.clientY - host.top + 14;
    if (left + tip.width > host.width) left = Math.max(0, at.clientX - host.left - tip.width - 8);
    if (at.clientY + 14 + tip.height > globalThis.innerHeight) top = Math.max(0, at.clientY - host.top - tip.height - 8);
    this.element.style.left = `${left}px`;
    this.element.style.top = `${top}px`;
  }

  hide(): void {
    this.element.hidden = true;
  }
}
