// Shared setup of the browser tests: Debian's Chromium through playwright-core, the webview bundle built privately
// with esbuild, pages made by extension/chat/html.ts (standalone files, or "hosted" pages served on 127.0.0.1 with
// a stand-in for VS Code's acquireVsCodeApi), and VS Code-like theme variables.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { buildWebviewHtml, type StandaloneTheme } from '../../extension/chat/html';
import type { InitialData } from '../../webview/protocol';

// playwright-core reads its own package.json and esbuild runs its native binary: neither survives being bundled
// into the test file, so both load from the repository's node_modules at run time.
const requireFromRoot = createRequire(resolve('package.json'));
const playwright = requireFromRoot('playwright-core') as typeof import('playwright-core');
const esbuild = requireFromRoot('esbuild') as typeof import('esbuild');

export const ARTIFACTS = resolve('out/artifacts');

/** Debian's Chromium, or a loud failure that says how to get it (never `playwright install`). */
export function chromiumPath(): string {
  for (const candidate of [process.env.CHROMIUM_PATH, '/usr/bin/chromium']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'browser tests need Debian\'s Chromium at /usr/bin/chromium: run `apt-get install chromium` ' +
        '(or set CHROMIUM_PATH); never `playwright install`',
    );
  }
}

export async function launchBrowser(): Promise<Browser> {
  return playwright.chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
  });
}

export interface Bundle {
  readonly dir: string;
  readonly script: string;
  readonly style: string;
}

/** Bundles webview/main.ts as build.mjs will (esm, browser) into a private temp folder. */
export async function buildBundle(): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), 'ql-webview-'));
  await esbuild.build({
    entryPoints: [resolve('webview/main.ts')],
    outfile: join(dir, 'main.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    logLevel: 'error',
  });
  return { dir, script: readFileSync(join(dir, 'main.js'), 'utf8'), style: readFileSync(join(dir, 'main.css'), 'utf8') };
}

export function removeBundle(bundle: Bundle): void {
  rmSync(bundle.dir, { recursive: true, force: true });
}

/** A standalone HTML file (what the CLI writes) in a temp folder; returns its file:// URL. */
export function writeStandalone(bundle: Bundle, data: InitialData, theme: StandaloneTheme, name: string, inject = ''): string {
  let html = buildWebviewHtml({
    title: 'Quest Lens test',
    data,
    assets: { kind: 'standalone', script: bundle.script, style: bundle.style, theme },
  });
  if (inject) html = html.replace('<div id="root"></div>', `<div id="root"></div>${inject}`);
  const file = join(bundle.dir, `${name}.html`);
  writeFileSync(file, html);
  return `file://${file}`;
}

/** VS Code's default Dark Modern / Light Modern values of the variables the webview reads, set as VS Code sets them. */
export const VSCODE_THEMES = {
  light: {
    bodyClass: 'vscode-light',
    vars: {
      '--vscode-editor-background': '#ffffff',
      '--vscode-editor-foreground': '#3b3b3b',
      '--vscode-foreground': '#3b3b3b',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-blue': '#1a85ff',
      '--vscode-focusBorder': '#005fb8',
      '--vscode-textLink-foreground': '#005fb8',
      '--vscode-font-family': 'sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-editor-font-family': 'monospace',
    },
  },
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      '--vscode-editor-background': '#1f1f1f',
      '--vscode-editor-foreground': '#cccccc',
      '--vscode-foreground': '#cccccc',
      '--vscode-charts-orange': '#d18616',
      '--vscode-charts-blue': '#3794ff',
      '--vscode-focusBorder': '#0078d4',
      '--vscode-textLink-foreground': '#4daafc',
      '--vscode-font-family': 'sans-serif',
      '--vscode-font-size': '13px',
      '--vscode-editor-font-family': 'monospace',
    },
  },
} as const;

/**
 * Applies a theme the way VS Code's webview host does: each variable with style.setProperty on <html> (CSSOM, which
 * the CSP allows; a style attribute would be blocked) and the kind as a body class.
 */
export async function applyVsCodeTheme(page: Page, kind: keyof typeof VSCODE_THEMES): Promise<void> {
  const t = VSCODE_THEMES[kind];
  await page.evaluate(
    `(() => {
      const vars = ${JSON.stringify(t.vars)};
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
      document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
      document.body.classList.add(${JSON.stringify(t.bodyClass)});
    })()`,
  );
}

/**
 * Stands in for VS Code in a hosted page: acquireVsCodeApi() records posted messages in window.__posted and keeps
 * state in sessionStorage (so it survives a reload, as VS Code's webview state does). Runs before the page's script.
 */
export const FAKE_VSCODE_API = `
  window.__posted = [];
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__posted.push(m),
    getState: () => { const s = sessionStorage.getItem('ql-state'); return s ? JSON.parse(s) : undefined; },
    setState: (s) => sessionStorage.setItem('ql-state', JSON.stringify(s)),
  });
`;

export interface Hosted {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serves a page made as VS Code's webview would load it (script and stylesheet by URL) on 127.0.0.1. `inject` is
 * markup put after the root element (as if something had slipped into the document); `onRequest` sees every path
 * the server is asked for.
 */
export async function serveHosted(
  bundle: Bundle,
  data: InitialData,
  options: { readonly inject?: string; readonly onRequest?: (path: string) => void } = {},
): Promise<Hosted> {
  let origin = '';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    options.onRequest?.(req.url ?? '/');
    if (path === '/' || path === '/index.html') {
      let html = buildWebviewHtml({
        title: 'Quest Lens hosted test',
        data,
        assets: { kind: 'webview', cspSource: origin, scriptUri: `${origin}/main.js`, styleUri: `${origin}/main.css` },
      });
      if (options.inject) html = html.replace('<div id="root"></div>', `<div id="root"></div>${options.inject}`);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else if (path === '/main.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle.script);
    } else if (path === '/main.css') {
      res.writeHead(200, { 'content-type': 'text/css' }).end(bundle.style);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('serveHosted: no TCP address');
  origin = `http://127.0.0.1:${address.port}`;
  return {
    url: `${origin}/index.html`,
    server,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** Posts a host → webview message the way VS Code delivers it (a message event on window). */
export async function sendToWebview(page: Page, message: unknown): Promise<void> {
  await page.evaluate(`window.postMessage(${JSON.stringify(message)}, '*')`);
}

/** Reads one pixel of a canvas' backing store: [r, g, b, a]. */
export async function canvasPixel(page: Page, selector: string, x: number, y: number): Promise<number[]> {
  return page.evaluate(
    `Array.from(document.querySelector(${JSON.stringify(selector)}).getContext('2d').getImageData(${Math.floor(x)}, ${Math.floor(y)}, 1, 1).data)`,
  ) as Promise<number[]>;
}

export function ensureArtifacts(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

/**
 * Polls a JS expression in the page until it is truthy. (Playwright's waitForFunction compiles string predicates with
 * `new Function`, which the webview's CSP forbids; page.evaluate goes through the debugger and is not affected.)
 */
export async function waitUntil(page: Page, expression: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (await page.evaluate(expression)) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`waitUntil: still false after ${timeoutMs} ms: ${expression}`);
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

/** Waits until the page's heatmap painted (its first full draw was measured). */
export async function waitForPaint(page: Page, measure = 'questLens/heatmap/drawAll'): Promise<void> {
  await waitUntil(page, `performance.getEntriesByName(${JSON.stringify(measure)}).length > 0`);
}

/**
 * The colour the screen shows at CSS pixel (x, y) of the page, from a 1×1 screenshot: what the user sees, after
 * compositing the heatmap's canvases. A 1×1 PNG needs no real decoder: every PNG row filter leaves the first pixel
 * of the first row as is, so it is the bytes after the filter byte of the inflated image data.
 */
export async function screenPixel(page: Page, x: number, y: number): Promise<number[]> {
  const png = await page.screenshot({ clip: { x: Math.floor(x), y: Math.floor(y), width: 1, height: 1 }, scale: 'css' });
  const { inflateSync } = await import('node:zlib');
  let at = 8;
  let colorType = -1;
  const idat: Buffer[] = [];
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      if (body.readUInt32BE(0) !== 1 || body.readUInt32BE(4) !== 1 || body[8] !== 8) {
        throw new Error(`screenPixel: expected a 1×1 8-bit PNG, got ${body.readUInt32BE(0)}×${body.readUInt32BE(4)} depth ${body[8]}`);
      }
      colorType = body[9];
    }
    if (type === 'IDAT') idat.push(body);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  if (colorType === 2) return [raw[1], raw[2], raw[3], 255];
  if (colorType === 6) return [raw[1], raw[2], raw[3], raw[4]];
  throw new Error(`screenPixel: PNG colour type ${colorType} is not RGB(A)`);
}

/** "#d18616" → [209, 134, 22, 255]. */
export function hexRgba(hex: string): number[] {
  const h = hex.replace('#', '');
  return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16), 255];
}

/** The heatmap's main canvas: device size and CSS box. */
export async function mainCanvasBox(page: Page): Promise<{ width: number; height: number; left: number; top: number; dpr: number }> {
  return page.evaluate(`(() => {
    const c = document.querySelector('canvas.hm-main');
    const r = c.getBoundingClientRect();
    return { width: c.width, height: c.height, left: r.left, top: r.top, dpr: c.width / r.width };
  })()`) as Promise<{ width: number; height: number; left: number; top: number; dpr: number }>;
}
