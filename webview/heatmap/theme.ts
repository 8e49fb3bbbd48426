// The canvas' colours, read from VS Code's theme variables (never hard-coded), and re-read when the theme changes:
// VS Code switches the body class (vscode-light / vscode-dark / vscode-high-contrast[-light]) and rewrites the
// variables on <html>'s style, so a MutationObserver on both attributes sees every change.
import { mix, over, parseColor, type Rgba } from './colors';

export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';

export interface Theme {
  readonly kind: ThemeKind;
  /** The plot's "not selected" colour: the editor background. */
  readonly background: Rgba;
  readonly foreground: Rgba;
  /** A fully selected cell: --vscode-charts-orange. */
  readonly heat: Rgba;
  /** Dense layers in the layers × heads view: --vscode-charts-blue. */
  readonly dense: Rgba;
  /** Cells that do not exist yet (a page not in context at that step, steps not decoded). */
  readonly absent: Rgba;
  /** Alternating file bands, the prompt band, the answer band. */
  readonly bandA: Rgba;
  readonly bandB: Rgba;
  readonly promptBand: Rgba;
  readonly answerBand: Rgba;
  /** CSS colours for overlay strokes and canvas text. */
  readonly focus: string;
  readonly rowHighlight: string;
  readonly text: string;
  readonly font: string;
}

/** Resolves the first set variable of `names` (then `system`, a CSS system colour) to an opaque colour. */
function resolver(doc: Document): (names: readonly string[], system: string, under?: Rgba) => Rgba {
  const style = getComputedStyle(doc.body);
  const probe = doc.createElement('canvas').getContext('2d');
  const normalize = (value: string): Rgba | undefined => {
    if (!value || !CSS.supports('color', value)) return undefined;
    if (!probe) return parseColor(value);
    // The canvas normalizes any CSS colour (names, hsl, color-mix) to #rrggbb or rgba(…).
    probe.fillStyle = '#000000';
    probe.fillStyle = value;
    return parseColor(String(probe.fillStyle));
  };
  return (names, system, under) => {
    for (const name of names) {
      const c = normalize(style.getPropertyValue(name).trim());
      if (c) return under && c.a < 1 ? over(c, under) : { ...c, a: 1 };
    }
    const c = normalize(system) ?? { r: 128, g: 128, b: 128, a: 1 };
    return under && c.a < 1 ? over(c, under) : c;
  };
}

export function themeKind(doc: Document): ThemeKind {
  const cls = doc.body.classList;
  if (cls.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (cls.contains('vscode-high-contrast')) return 'high-contrast';
  if (cls.contains('vscode-light')) return 'light';
  return 'dark';
}

export function readTheme(doc: Document): Theme {
  const kind = themeKind(doc);
  const color = resolver(doc);
  const background = color(['--vscode-editor-background', '--vscode-sideBar-background'], 'Canvas');
  const foreground = color(['--vscode-editor-foreground', '--vscode-foreground'], 'CanvasText', background);
  const heat = color(['--vscode-charts-orange', '--vscode-editorWarning-foreground'], 'CanvasText', background);
  const dense = color(['--vscode-charts-blue', '--vscode-textLink-foreground'], 'CanvasText', background);
  const highContrast = kind === 'high-contrast' || kind === 'high-contrast-light';
  const style = getComputedStyle(doc.body);
  const cssVar = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  const fontSize = parseFloat(cssVar('--vscode-font-size', '12')) || 12;
  return {
    kind,
    background,
    foreground,
    heat,
    dense,
    absent: mix(background, foreground, highContrast ? 0.2 : 0.07),
    bandA: mix(background, foreground, highContrast ? 0.3 : 0.1),
    bandB: mix(background, foreground, highContrast ? 0.5 : 0.2),
    promptBand: mix(background, foreground, 0.04),
    answerBand: mix(background, heat, 0.25),
    focus: cssVar('--vscode-focusBorder', 'Highlight'),
    rowHighlight: highContrast
      ? cssVar('--vscode-contrastActiveBorder', 'Highlight')
      : cssVar('--vscode-editor-foreground', 'CanvasText'),
    text: cssVar('--vscode-foreground', 'CanvasText'),
    font: `${Math.max(9, Math.round(fontSize * 0.9))}px ${cssVar('--vscode-font-family', 'system-ui, sans-serif')}`,
  };
}

/** Calls `onChange` whenever the body's theme class or the variables on <html> change; returns the stop function. */
export function watchTheme(doc: Document, onChange: () => void): () => void {
  let last = '';
  const signature = (): string => `${doc.body.className}|${doc.documentElement.getAttribute('style') ?? ''}`;
  last = signature();
  const observer = new MutationObserver(() => {
    const now = signature();
    if (now === last) return;
    last = now;
    onChange();
  });
  observer.observe(doc.body, { attributes: true, attributeFilter: ['class'] });
  observer.observe(doc.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return () => observer.disconnect();
}
