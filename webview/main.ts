// Entry of the webview bundle (dist/webview/main.js): reads the initial data, connects to the host (or runs
// read-only in a standalone file), builds the chat view or the heatmap panel, and routes the host's messages.
import { ChatApp } from './app/chatApp';
import { PanelApp } from './app/panelApp';
import { getData } from './data';
import { toErrorData } from './errors';
import { connectHost } from './host';
import type { ToWebview } from './protocol';
import './styles.css';

function start(): void {
  const data = getData(document);
  const host = connectHost(data.standalone);
  if (data.standalone) followColorScheme(document);
  const root = document.getElementById('root');
  if (!root) throw new Error('webview: the page has no <div id="root">: build its HTML with extension/chat/html.ts');
  const report = (err: unknown): void => {
    console.error(err);
    host.post('webview/didFail', { error: toErrorData(err) });
  };
  window.addEventListener('error', (e) => report(e.error ?? e.message));
  window.addEventListener('unhandledrejection', (e) => report(e.reason));
  const app = data.view === 'heatmap' ? new PanelApp(document, root, data, host) : new ChatApp(document, root, data, host);
  if (!host.interactive) return;
  window.addEventListener('message', (e: MessageEvent<unknown>) => {
    const msg = e.data;
    if (typeof msg !== 'object' || msg === null || typeof (msg as { type?: unknown }).type !== 'string') return;
    try {
      app.receive(msg as ToWebview);
    } catch (err) {
      report(err);
    }
  });
  host.post('webview/ready', { view: data.view });
}

/**
 * A standalone file has no VS Code to set the theme class: unless the file fixed one, follow the OS colour scheme
 * (the file's stylesheet defines the --vscode-* variables for each class).
 */
function followColorScheme(doc: Document): void {
  const body = doc.body;
  if (body.dataset.theme !== 'auto') return;
  const query = matchMedia('(prefers-color-scheme: dark)');
  const apply = (): void => {
    body.classList.toggle('vscode-dark', query.matches);
    body.classList.toggle('vscode-light', !query.matches);
  };
  apply();
  query.addEventListener('change', apply);
}

try {
  start();
} catch (err) {
  // Nothing else can show it: no app was built.
  console.error(err);
  const p = document.createElement('p');
  p.className = 'banner';
  p.setAttribute('role', 'alert');
  p.textContent = `Quest Lens could not start this view: ${err instanceof Error ? err.message : String(err)}`;
  document.body.append(p);
}
