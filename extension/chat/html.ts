// Builds the webview's HTML document, for a VS Code webview (script and stylesheet by URI from the extension's
// dist/webview folder) and for a standalone file the CLI writes (script and stylesheet inlined). Both get a strict
// Content-Security-Policy: nothing loads or runs but the one nonce'd script and the stylesheet; model output is data
// in a JSON attribute, never markup. No vscode import: the CLI uses this too.
import { randomBytes } from 'node:crypto';
import type { InitialData } from '../../webview/protocol';

/** For a VS Code webview: `webview.cspSource` and `webview.asWebviewUri(…).toString()` of dist/webview/main.{js,css}. */
export interface WebviewAssets {
  readonly kind: 'webview';
  readonly cspSource: string;
  readonly scriptUri: string;
  readonly styleUri: string;
}

/** For a standalone file: the bundle's text (dist/webview/main.js and main.css), inlined under the nonce. */
export interface StandaloneAssets {
  readonly kind: 'standalone';
  readonly script: string;
  readonly style: string;
  /** 'auto' follows the OS colour scheme; the others fix one of the built-in themes. Default 'auto'. */
  readonly theme?: StandaloneTheme;
}

export type StandaloneTheme = 'light' | 'dark' | 'high-contrast' | 'auto';

export interface WebviewHtmlInput {
  /** The document's title (a standalone file's tab title). */
  readonly title: string;
  readonly data: InitialData;
  readonly assets: WebviewAssets | StandaloneAssets;
  /** Defaults to makeNonce(); pass one only to test. */
  readonly nonce?: string;
  /**
   * Adds `require-trusted-types-for 'script'; trusted-types 'none'`, so that any string reaching an HTML sink
   * (innerHTML, …) throws. Default true; the page never uses such sinks.
   */
  readonly trustedTypes?: boolean;
}

/** 128 random bits, base64: a fresh nonce per document. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

/** The policy: default-src 'none'; the nonce'd script only; styles from the webview origin or the nonce'd <style>. */
export function contentSecurityPolicy(assets: WebviewAssets | StandaloneAssets, nonce: string, trustedTypes = true): string {
  const source = assets.kind === 'webview' ? assets.cspSource : `'nonce-${nonce}'`;
  const directives = [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${source}`,
    `img-src ${assets.kind === 'webview' ? `${assets.cspSource} ` : ''}data:`,
    `font-src ${assets.kind === 'webview' ? assets.cspSource : `'none'`}`,
    `base-uri 'none'`,
    `form-action 'none'`,
    ...(trustedTypes ? [`require-trusted-types-for 'script'`, `trusted-types 'none'`] : []),
  ];
  return directives.join('; ');
}

export function buildWebviewHtml(input: WebviewHtmlInput): string {
  const nonce = input.nonce ?? makeNonce();
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(nonce)) {
    throw new Error(`buildWebviewHtml: nonce must be ≥ 16 base64 characters, got ${JSON.stringify(nonce)}`);
  }
  const { assets, data } = input;
  const csp = contentSecurityPolicy(assets, nonce, input.trustedTypes ?? true);
  const json = escapeAttribute(JSON.stringify(data));
  const head: string[] = [
    `<meta charset="utf-8">`,
    `<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(csp)}">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${escapeText(input.title)}</title>`,
    `<meta id="quest-lens-data" data-initial="${json}">`,
  ];
  let bodyAttrs = '';
  let script: string;
  if (assets.kind === 'webview') {
    head.push(`<link rel="stylesheet" href="${escapeAttribute(assets.styleUri)}">`);
    script = `<script type="module" nonce="${nonce}" src="${escapeAttribute(assets.scriptUri)}"></script>`;
  } else {
    const theme = assets.theme ?? 'auto';
    head.push(`<style nonce="${nonce}">${inlineStyle(STANDALONE_THEME_CSS + assets.style)}</style>`);
    const cls = theme === 'auto' ? '' : theme === 'high-contrast' ? 'vscode-high-contrast' : `vscode-${theme}`;
    bodyAttrs = ` class="standalone${cls ? ` ${cls}` : ''}" data-theme="${theme}"`;
    script = `<script type="module" nonce="${nonce}">${inlineScript(assets.script)}</script>`;
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    ...head.map((l) => `  ${l}`),
    '</head>',
    `<body${bodyAttrs}>`,
    '  <div id="root"></div>',
    `  ${script}`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** For attribute values in double quotes: JSON of model output ends up here, so every markup character is escaped. */
export function escapeAttribute(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&#39;');
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Script text inside <script>: the parser would end the element at `</script` and misparse after `<!--`. In JS both
 * only occur inside strings, regexes or comments, where `<\/` and `<\!--` mean the same (esbuild already escapes the
 * first in strings).
 */
function inlineScript(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function inlineStyle(css: string): string {
  if (/<\/style/i.test(css)) throw new Error('buildWebviewHtml: the stylesheet contains "</style", which would end the inline <style>');
  return css;
}

// The --vscode-* variables VS Code would set, for a file opened outside VS Code (values of the default Light Modern,
// Dark Modern and High Contrast themes). Only the names the stylesheet and the canvas read.
const THEMES: Record<'light' | 'dark' | 'high-contrast', Record<string, string>> = {
  light: {
    'editor-background': '#ffffff',
    'editor-foreground': '#3b3b3b',
    foreground: '#3b3b3b',
    descriptionForeground: '#717171',
    'charts-orange': '#d18616',
    'charts-blue': '#1a85ff',
    focusBorder: '#005fb8',
    'textLink-foreground': '#005fb8',
    'textLink-activeForeground': '#005fb8',
    'textCodeBlock-background': '#f2f2f2',
    'textPreformat-foreground': '#3b3b3b',
    'textBlockQuote-border': '#e5e5e5',
    'button-background': '#005fb8',
    'button-foreground': '#ffffff',
    'button-hoverBackground': '#0258a8',
    'button-secondaryBackground': '#e5e5e5',
    'button-secondaryForeground': '#3b3b3b',
    'button-secondaryHoverBackground': '#cccccc',
    'input-background': '#ffffff',
    'input-foreground': '#3b3b3b',
    'input-border': '#cecece',
    'widget-border': '#e5e5e5',
    'panel-border': '#e5e5e5',
    'editorHoverWidget-background': '#f8f8f8',
    'editorHoverWidget-foreground': '#3b3b3b',
    'editorHoverWidget-border': '#c8c8c8',
    'editor-selectionBackground': '#add6ff',
    errorForeground: '#f85149',
    'widget-shadow': 'rgba(0, 0, 0, 0.16)',
  },
  dark: {
    'editor-background': '#1f1f1f',
    'editor-foreground': '#cccccc',
    foreground: '#cccccc',
    descriptionForeground: '#9d9d9d',
    'charts-orange': '#d18616',
    'charts-blue': '#3794ff',
    focusBorder: '#0078d4',
    'textLink-foreground': '#4daafc',
    'textLink-activeForeground': '#4daafc',
    'textCodeBlock-background': '#2b2b2b',
    'textPreformat-foreground': '#d0d0d0',
    'textBlockQuote-border': '#616161',
    'button-background': '#0078d4',
    'button-foreground': '#ffffff',
    'button-hoverBackground': '#026ec1',
    'button-secondaryBackground': '#313131',
    'button-secondaryForeground': '#cccccc',
    'button-secondaryHoverBackground': '#3c3c3c',
    'input-background': '#313131',
    'input-foreground': '#cccccc',
    'input-border': '#3c3c3c',
    'widget-border': '#313131',
    'panel-border': '#2b2b2b',
    'editorHoverWidget-background': '#202020',
    'editorHoverWidget-foreground': '#cccccc',
    'editorHoverWidget-border': '#454545',
    'editor-selectionBackground': '#264f78',
    errorForeground: '#f85149',
    'widget-shadow': 'rgba(0, 0, 0, 0.36)',
  },
  'high-contrast': {
    'editor-background': '#000000',
    'editor-foreground': '#ffffff',
    foreground: '#ffffff',
    descriptionForeground: '#ffffff',
    'charts-orange': '#ff9d00',
    'charts-blue': '#3794ff',
    focusBorder: '#f38518',
    contrastBorder: '#6fc3df',
    contrastActiveBorder: '#f38518',
    'textLink-foreground': '#21a6ff',
    'textLink-activeForeground': '#21a6ff',
    'textCodeBlock-background': '#000000',
    'textPreformat-foreground': '#ffd700',
    'textBlockQuote-border': '#ffffff',
    'button-background': '#000000',
    'button-foreground': '#ffffff',
    'button-border': '#6fc3df',
    'button-secondaryBackground': '#000000',
    'button-secondaryForeground': '#ffffff',
    'input-background': '#000000',
    'input-foreground': '#ffffff',
    'input-border': '#6fc3df',
    'widget-border': '#6fc3df',
    'panel-border': '#6fc3df',
    'editorHoverWidget-background': '#0c141f',
    'editorHoverWidget-foreground': '#ffffff',
    'editorHoverWidget-border': '#6fc3df',
    'editor-selectionBackground': '#ffffff',
    errorForeground: '#f48771',
  },
};

const FONTS: Record<string, string> = {
  'font-family': 'system-ui, -apple-system, "Segoe UI", Ubuntu, sans-serif',
  'font-size': '13px',
  'editor-font-family': '"Droid Sans Mono", "DejaVu Sans Mono", monospace',
  'editor-font-size': '13px',
};

function themeBlock(selector: string, vars: Record<string, string>): string {
  const lines = Object.entries({ ...FONTS, ...vars }).map(([k, v]) => `  --vscode-${k}: ${v};`);
  return `${selector} {\n${lines.join('\n')}\n}\n`;
}

const STANDALONE_THEME_CSS =
  themeBlock('body.vscode-light', THEMES.light) +
  themeBlock('body.vscode-dark', THEMES.dark) +
  themeBlock('body.vscode-high-contrast', THEMES['high-contrast']);
