// extension/chat/html.ts: the Content-Security-Policy, the nonce, the initial data as an attribute (hostile model
// text must round-trip as data and never become markup), and the inlined script/style of a standalone file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildWebviewHtml, contentSecurityPolicy, escapeAttribute, makeNonce } from '../../extension/chat/html';
import type { InitialData } from '../../webview/protocol';
import { tinyManifest, tinyTrace } from '../fixtures/traces/tiny';

const hostile = '</script><script>window.__pwned=1</script>"\'&<img src=x onerror=alert(1)>';
const data: InitialData = {
  view: 'chat',
  standalone: false,
  turns: [{ turnId: 't1', question: hostile, tokens: [hostile, ' [x](javascript:alert(1))'], status: 'stop' }],
  heatmap: { turnId: 't1', trace: { ...tinyTrace, steps: tinyTrace.steps.map((s) => ({ ...s, text: hostile })) }, manifest: tinyManifest },
};
const webview = { kind: 'webview', cspSource: 'https://file+.vscode-resource.vscode-cdn.net', scriptUri: 'https://x/main.js', styleUri: 'https://x/main.css' } as const;

/** Decodes the five entities escapeAttribute writes. */
const unescape = (s: string): string =>
  s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

test('makeNonce: 16 random bytes in base64, different every time', () => {
  const a = makeNonce();
  const b = makeNonce();
  assert.match(a, /^[A-Za-z0-9+/]{22}==$/);
  assert.equal(Buffer.from(a, 'base64').length, 16);
  assert.notEqual(a, b);
});

test('CSP: nothing by default, the nonce for scripts, styles from the webview origin, no unsafe-*', () => {
  const csp = contentSecurityPolicy(webview, 'N0nceN0nceN0nceN0nce==');
  assert.equal(
    csp,
    "default-src 'none'; script-src 'nonce-N0nceN0nceN0nceN0nce=='; style-src https://file+.vscode-resource.vscode-cdn.net; " +
      "img-src https://file+.vscode-resource.vscode-cdn.net data:; font-src https://file+.vscode-resource.vscode-cdn.net; " +
      "base-uri 'none'; form-action 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
  );
  const standalone = contentSecurityPolicy({ kind: 'standalone', script: '', style: '' }, 'N0nceN0nceN0nceN0nce==', false);
  assert.match(standalone, /style-src 'nonce-N0nceN0nceN0nceN0nce=='/);
  assert.doesNotMatch(standalone, /unsafe|https?:|trusted-types/);
});

test('webview document: one script (by URI, with the nonce), the data as an attribute that round-trips', () => {
  const html = buildWebviewHtml({ title: 'Quest <Lens>', data, assets: webview, nonce: 'N0nceN0nceN0nceN0nce==' });
  assert.equal(html.match(/<script/g)?.length, 1, 'exactly one <script> element');
  assert.match(html, /<script type="module" nonce="N0nceN0nceN0nceN0nce==" src="https:\/\/x\/main.js"><\/script>/);
  assert.match(html, /<link rel="stylesheet" href="https:\/\/x\/main.css">/);
  assert.match(html, /<title>Quest &lt;Lens&gt;<\/title>/);
  assert.ok(!html.includes('window.__pwned=1</script>'), 'model text never appears unescaped');
  const attr = /<meta id="quest-lens-data" data-initial="([^"]*)">/.exec(html);
  assert.ok(attr, 'the data meta element');
  assert.deepEqual(JSON.parse(unescape(attr[1])), data);
  // The CSP meta comes before anything that loads.
  assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<link'));
});

test('standalone document: script and style inlined under the nonce, `</script` escaped, theme class set', () => {
  const script = 'const s = "</script><!-- x"; console.log(s);';
  const html = buildWebviewHtml({
    title: 't',
    data: { ...data, standalone: true },
    assets: { kind: 'standalone', script, style: 'body{color:red}', theme: 'dark' },
    nonce: 'N0nceN0nceN0nceN0nce==',
  });
  assert.equal(html.match(/<\/script/gi)?.length, 1, 'only the closing tag');
  assert.ok(html.includes('const s = "<\\/script><\\!-- x"; console.log(s);'));
  assert.match(html, /<style nonce="N0nceN0nceN0nceN0nce==">[^<]*body\.vscode-dark \{[^}]*--vscode-charts-orange: #d18616;/);
  assert.match(html, /<body class="standalone vscode-dark" data-theme="dark">/);
  assert.match(unescape(html), /style-src 'nonce-N0nceN0nceN0nceN0nce=='/);
  const auto = buildWebviewHtml({ title: 't', data, assets: { kind: 'standalone', script: '', style: '' } });
  assert.match(auto, /<body class="standalone" data-theme="auto">/);
  assert.throws(
    () => buildWebviewHtml({ title: 't', data, assets: { kind: 'standalone', script: '', style: 'a{}</style>' } }),
    /stylesheet contains "<\/style"/,
  );
  assert.throws(() => buildWebviewHtml({ title: 't', data, assets: webview, nonce: 'short' }), /nonce must be ≥ 16 base64 characters/);
});

test('escapeAttribute escapes every markup character', () => {
  assert.equal(escapeAttribute(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});
