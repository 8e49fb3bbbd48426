// Bundles Quest Lens with esbuild: one entry per process it runs in.
//   node build.mjs                 all bundles, with sourcemaps
//   node build.mjs --production    minified, no sourcemaps (what `npm run package` ships)
//   node build.mjs --watch         rebuild on change
//   node build.mjs --tests         also bundle test/**/*.test.ts into out/test/ (what scripts/test.mjs runs)
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const tests = process.argv.includes('--tests');

const common = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  logLevel: 'silent',
  loader: { '.wgsl': 'text' },
  plugins: [problemMatcher()],
};

// The extension host and the engine never bundle Dawn: `webgpu` ships a native addon and is loaded with import().
const node = { ...common, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'webgpu'] };

const builds = [
  // Extension host: runs inside VS Code; never loads Dawn itself.
  { ...node, entryPoints: ['extension/extension.ts'], outfile: 'dist/extension.js' },
  // Engine process and CLI: one entry, `quest-lens <command>`; the extension starts it as a child process.
  { ...node, entryPoints: ['gpu/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  // `npm run bench`: engine speed on the adapter at hand (bench/README in BENCHMARKS.md).
  { ...node, entryPoints: ['bench/main.ts'], outfile: 'dist/bench.js' },
  // The bench's llama.cpp peer, a child process of dist/bench.js: node-llama-cpp stays external (ESM + native addons).
  { ...node, format: 'esm', entryPoints: ['bench/peer/llamaCppRunner.ts'], outfile: 'dist/benchPeer.mjs', external: [...node.external, 'node-llama-cpp'] },
  // `npm run eval`: the default model's evaluation through the engine (held-out quoting, passkey; ESM).
  { ...node, format: 'esm', entryPoints: ['eval/main.ts'], outfile: 'dist/eval.mjs' },
  // Webview: the chat view and heatmap (DOM only); main.ts imports styles.css, written beside as main.css.
  { ...common, platform: 'browser', format: 'esm', target: 'es2022', entryPoints: ['webview/main.ts'], outfile: 'dist/webview/main.js' },
];

if (tests) {
  // test/e2e runs in its own harness (scripts/run-e2e.mjs): it drives code-server and cannot bundle playwright-core.
  const entryPoints = listFiles('test').filter((f) => f.endsWith('.test.ts') && !f.startsWith(join('test', 'e2e')));
  builds.push({ ...node, entryPoints, outdir: 'out/test', outbase: 'test', sourcemap: true });
}

function listFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative('.', join(e.parentPath ?? e.path, e.name)));
}

// Prints errors in the shape VS Code's esbuild problem matcher reads.
function problemMatcher() {
  return {
    name: 'problem-matcher',
    setup(build) {
      build.onStart(() => {
        if (watch) console.log('[watch] build started');
      });
      build.onEnd((result) => {
        for (const { text, location } of result.errors) {
          console.error(`✘ [ERROR] ${text}`);
          if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
        }
        if (watch) console.log('[watch] build finished');
      });
    },
  };
}

const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  const results = await Promise.allSettled(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  if (results.some((r) => r.status === 'rejected')) process.exit(1);
}
