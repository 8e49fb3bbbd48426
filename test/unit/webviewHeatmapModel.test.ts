// The heatmap model on the hand-written tiny trace (expected values worked out by hand from its page lists; see
// test/fixtures/traces/tiny.ts) and on synthetic traces: counts, aggregate row, file bands and ranking, page → file
// and lines, the layers × heads view, score levels, incremental appends, and the errors of malformed input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TraceShapeError } from '../../webview/errors';
import { Bands, linesOfTokens } from '../../webview/heatmap/bands';
import { describeBand, describeCell, describeReceived, stepRuns } from '../../webview/heatmap/describe';
import { HeatmapModel, LAYER_DENSE, openTargetOf } from '../../webview/heatmap/model';
import { syntheticTrace } from '../fixtures/traces/generate';
import { tinyDenseTrace, tinyManifest, tinyPageTexts, tinyScoredTrace, tinySteps, tinyTrace } from '../fixtures/traces/tiny';

const tiny = (): HeatmapModel => new HeatmapModel(tinyTrace, tinyManifest, tinyPageTexts);

test('tiny: per-step counts of sparse layer-heads selecting each page', () => {
  const m = tiny();
  assert.equal(m.sparsePairs, 4);
  assert.equal(m.stepCount, 5);
  assert.equal(m.pageCount, 9);
  const rows = m.rows('selected').map((r) => Array.from(r));
  assert.deepEqual(rows, [
    [1, 1, 0, 4, 1, 1, 0, 4],
    [0, 1, 4, 2, 0, 1, 0, 4],
    [0, 1, 0, 1, 2, 4, 0, 0, 4],
    [1, 4, 1, 1, 1, 0, 0, 0, 4],
    [0, 0, 0, 4, 4, 0, 0, 0, 4],
  ]);
  assert.equal(m.countAt(0, 8), 0, 'page 8 is not in context at step 0');
  assert.equal(m.inContext(0, 8), false);
  assert.equal(m.inContext(2, 8), true);
});

test('tiny: aggregate row counts the steps at which each page was chosen', () => {
  assert.deepEqual(Array.from(tiny().aggregate()), [2, 4, 2, 5, 4, 3, 0, 2, 3]);
});

test('tiny: bands cover [0, ∞) in token order; page 3 belongs to both files', () => {
  const m = tiny();
  assert.deepEqual(
    m.bands.list.map((b) => [b.kind, b.label, b.tokenStart, b.tokenEnd]),
    [
      ['prompt', '(prompt)', 0, 2],
      ['file', 'demo/src/alpha.ts', 2, 14],
      ['file', 'demo/lib/beta.py', 14, 27],
      ['prompt', '(prompt)', 27, 30],
      ['answer', '(answer)', 30, Infinity],
    ],
  );
  assert.deepEqual(m.bands.bandsOfPage(0), [0, 1]);
  assert.deepEqual(m.bands.bandsOfPage(3), [1, 2]);
  assert.deepEqual(m.bands.bandsOfPage(7), [3, 4]);
  assert.deepEqual(m.bands.bandsOfPage(8), [4, 4]);
  assert.deepEqual(m.bands.pageRange(1, 9), [0, 4]);
  assert.deepEqual(m.bands.pageRange(2, 9), [3, 7]);
  assert.deepEqual(m.bands.pageRange(4, 9), [7, 9]);
  assert.equal(m.bands.bandAtToken(13), 1);
  assert.equal(m.bands.bandAtToken(14), 2);
  assert.equal(m.bands.bandAtToken(1e9), 4);
});

test('tiny: page → files and line ranges', () => {
  const m = tiny();
  const show = (p: number) =>
    m.pageInfo(p).files.map((f) => `${f.path} ${f.lines.headerOnly ? 'header' : `${f.lines.start}-${f.lines.end}`}`);
  assert.deepEqual(show(0), ['demo/src/alpha.ts header']);
  assert.deepEqual(show(1), ['demo/src/alpha.ts 1-2']);
  assert.deepEqual(show(2), ['demo/src/alpha.ts 2-3']);
  assert.deepEqual(show(3), ['demo/src/alpha.ts 3-3', 'demo/lib/beta.py 1-1']);
  // Line 2 of beta is empty: tokens 16–19 are line 1 (16, 17) and line 3 (18, 19).
  assert.deepEqual(show(4), ['demo/lib/beta.py 1-3']);
  assert.deepEqual(show(5), ['demo/lib/beta.py 3-4']);
  assert.deepEqual(show(6), ['demo/lib/beta.py 4-4']);
  assert.deepEqual(show(7), []);
  assert.deepEqual(m.pageInfo(6).bandLabels, ['demo/lib/beta.py', '(prompt)']);
  assert.deepEqual(m.pageInfo(7).bandLabels, ['(prompt)', '(answer)']);
  // A click on page 3 opens the file under the pointer's token.
  assert.equal(m.fileAtToken(13)?.path, 'demo/src/alpha.ts');
  assert.equal(m.fileAtToken(14)?.path, 'demo/lib/beta.py');
  assert.equal(m.fileAtToken(28), undefined);
  const beta = m.fileAtToken(15);
  assert.ok(beta);
  assert.deepEqual(openTargetOf(beta), { path: 'lib/beta.py', folder: 0, line: 1, endLine: 1 });
  const alphaHeader = m.pageInfo(0).files[0];
  assert.deepEqual(openTargetOf(alphaHeader), { path: 'src/alpha.ts', folder: 0, line: 1 });
});

test('linesOfTokens: header, empty lines, clipping to the span', () => {
  const beta = tinyManifest.files[1];
  assert.equal(linesOfTokens(beta, 0, 14), undefined);
  assert.deepEqual(linesOfTokens(beta, 14, 15), { start: 1, end: 1, headerOnly: true });
  assert.deepEqual(linesOfTokens(beta, 14, 16), { start: 1, end: 1, headerOnly: false });
  assert.deepEqual(linesOfTokens(beta, 18, 19), { start: 3, end: 3, headerOnly: false });
  assert.deepEqual(linesOfTokens(beta, 0, 100), { start: 1, end: 4, headerOnly: false });
  assert.deepEqual(linesOfTokens(beta, 26, 27), { start: 4, end: 4, headerOnly: false });
});

test('tiny: file ranking by page-steps chosen (a shared page counts for both files)', () => {
  const ranking = tiny().fileRanking();
  assert.deepEqual(
    ranking.map((f) => [f.path, f.pageSteps, f.pagesChosen, f.pages]),
    [
      ['demo/src/alpha.ts', 13, 4, 4],
      ['demo/lib/beta.py', 12, 3, 4],
    ],
  );
  const m = tiny();
  assert.equal(m.hottestPageOfFile(0), 3);
  assert.equal(m.hottestPageOfFile(1), 3);
});

test('tiny: layers × KV heads view of one step; dense layer rows read every page', () => {
  const v = tiny().layerView(0);
  assert.equal(v.rows.length, 6);
  assert.deepEqual(Array.from(v.rows[0]), new Array(8).fill(LAYER_DENSE));
  assert.deepEqual(Array.from(v.rows[1]), new Array(8).fill(LAYER_DENSE));
  assert.deepEqual(Array.from(v.rows[2]), [0, 1, 0, 1, 0, 0, 0, 1]);
  assert.deepEqual(Array.from(v.rows[5]), [1, 0, 0, 1, 0, 0, 0, 1]);
  assert.throws(() => tiny().layerView(5), TraceShapeError);
});

test('tiny: score levels are min–max scaled per step, attention by the step maximum', () => {
  const m = new HeatmapModel(tinyScoredTrace, tinyManifest);
  assert.ok(m.hasScores && m.hasAttention);
  assert.deepEqual(Array.from(m.rows('score')[0]), [0, 36, 73, 109, 146, 182, 219, 255]);
  assert.deepEqual(Array.from(m.rows('attention')[0]), [255, 128, 85, 64, 51, 43, 36, 32]);
  assert.equal(m.levelMax('score'), 255);
  assert.equal(m.levelMax('selected'), 4);
  assert.equal(tiny().hasScores, false);
  assert.equal(tiny().levelAt('score', 0, 0), undefined);
});

test('tiny: a step without scores or attention (the first, chosen by prefill) has an empty row; the others are drawn', () => {
  const [first, ...rest] = tinyScoredTrace.steps;
  const { scores: _scores, attention: _attention, ...bare } = first;
  const m = new HeatmapModel({ ...tinyScoredTrace, steps: [bare, ...rest] }, tinyManifest);
  assert.ok(m.hasScores && m.hasAttention);
  assert.deepEqual([m.rows('score')[0].length, m.rows('attention')[0].length], [0, 0]);
  assert.equal(m.levelAt('attention', 0, 3), undefined);
  assert.deepEqual(Array.from(m.rows('attention')[1]), [255, 128, 85, 64, 51, 43, 36, 32]); // position 31: 8 pages
});

test('tiny: the answer\'s attention row, scaled by the most attended page of file text, and each page\'s share', () => {
  // Pages 0–6 hold file text (5 + 0 + 1 + 2 + 0.5 + 3 + 0 = 11.5); page 7 (prompt, answer) and page 8 (answer) do not.
  const m = new HeatmapModel({ ...tinyTrace, attention: [5, 0, 1, 2, 0.5, 3, 0, 9, 40] }, tinyManifest);
  assert.deepEqual(Array.from(m.received!), [255, 0, 51, 102, 26, 153, 0, 255, 255]);
  assert.equal(m.receivedAt(0), 5 / 11.5);
  assert.equal(m.receivedAt(7), 0);
  assert.deepEqual(describeReceived(m, 5), ["Page 5: 26.1% of the answer's attention to the files", 'demo/lib/beta.py lines 3–4']);
  assert.deepEqual(describeReceived(m, 7), ['Page 7: (prompt), (answer) (not file text: never cited)']);
  assert.equal(tiny().received, undefined);
  assert.equal(describeReceived(tiny(), 0), undefined);
});

test('tiny: cell descriptions and per-step runs', () => {
  const m = tiny();
  const hot = describeCell(m, 0, 3);
  assert.deepEqual(hot.lines, [
    'Step 0 “See” at position 30',
    'Page 3: tokens 12–15',
    'demo/src/alpha.ts line 3',
    'demo/lib/beta.py line 1',
    'Selected by 4 of 4 sparse layer-heads (100%); layer 0 is dense',
    'Chosen at 5 of 5 steps',
  ]);
  assert.equal(hot.snippet, tinyPageTexts[3]);
  assert.equal(describeCell(m, 0, 6).lines[3], 'Not selected by any sparse layer-head; layer 0 is dense');
  assert.ok(describeCell(m, 0, 8).lines.includes('Not in context yet at this step'));
  assert.deepEqual(
    stepRuns(m, 0).map((r) => [r.pageStart, r.pageEnd, r.files]),
    [
      [0, 1, ['demo/src/alpha.ts lines 1–2']],
      [3, 5, ['demo/src/alpha.ts line 3', 'demo/lib/beta.py lines 1–4']],
      [7, 7, ['(prompt)', '(answer)']],
    ],
  );
});

test('tiny, dense decoding: no selection; the answer\'s attention on every row, files ranked by it', () => {
  const m = new HeatmapModel(tinyDenseTrace, tinyManifest);
  assert.equal(m.everyPageRead, true);
  assert.equal(m.defaultMode, 'received');
  assert.deepEqual(
    (['selected', 'score', 'attention', 'received'] as const).map((mode) => m.hasMode(mode)),
    [false, false, false, true],
  );
  // Levels as in the attention row test: by the most attended page of file text; page 8 enters at step 2.
  const levels = [255, 0, 51, 102, 26, 153, 0, 255, 255];
  assert.deepEqual(
    m.rows('received').map((r) => Array.from(r)),
    [levels.slice(0, 8), levels.slice(0, 8), levels, levels, levels],
  );
  assert.equal(m.levelMax('received'), 255);
  // Alpha: pages 0–3 (5 + 0 + 1 + 2 of 11.5); beta: pages 3–6 (2 + 0.5 + 3 + 0); page 3 counts for both.
  assert.deepEqual(
    m.fileRanking().map((f) => [f.path, f.attention!.toFixed(4)]),
    [
      ['demo/src/alpha.ts', (8 / 11.5).toFixed(4)],
      ['demo/lib/beta.py', (5.5 / 11.5).toFixed(4)],
    ],
  );
  assert.equal(m.hottestPageOfFile(1), 5, 'beta is attended most on page 5');
  assert.deepEqual(describeCell(m, 1, 5).lines.slice(3), [
    'Dense decoding: every layer reads every page',
    "26.1% of the answer's attention to the files",
  ]);
  assert.deepEqual(describeBand(m, 2.2)?.lines, ['demo/src/alpha.ts', 'Pages 0–3', "69.6% of the answer's attention to the files"]);
  // While the answer streams (no attention yet), every page in context reads as read.
  const streaming = new HeatmapModel({ ...tinyDenseTrace, attention: undefined }, tinyManifest);
  assert.equal(streaming.hasMode('received'), true);
  assert.equal(streaming.levelMax('received'), 1);
  assert.deepEqual(streaming.rows('received').map((r) => r.length), [8, 8, 9, 9, 9]);
  assert.ok(streaming.rows('received').every((r) => r.every((v) => v === 1)));
  // Quest keeps the selection as its default; the answer's attention is there once the trace has it.
  assert.equal(tiny().defaultMode, 'selected');
  assert.equal(tiny().hasMode('received'), false);
  assert.equal(new HeatmapModel({ ...tinyTrace, attention: tinyDenseTrace.attention }, tinyManifest).hasMode('received'), true);
});

test('appending steps one at a time gives the same model as building it whole', () => {
  for (const opts of [
    { pages: 61, steps: 17, pageSize: 4, layers: 3, kvHeads: 3, denseLayers: 1, pageBudget: 7, files: 5, seed: 3 },
    { pages: 300, steps: 40, pageSize: 16, layers: 5, kvHeads: 1, denseLayers: 0, pageBudget: 13, files: 9, seed: 4 },
  ]) {
    const { trace, manifest } = syntheticTrace(opts);
    const whole = new HeatmapModel(trace, manifest);
    const streamed = new HeatmapModel({ ...trace, steps: [] }, manifest);
    assert.equal(streamed.stepCount, 0);
    for (const s of trace.steps) streamed.appendStep(s);
    assert.deepEqual(streamed.rows('selected').map((r) => Array.from(r)), whole.rows('selected').map((r) => Array.from(r)));
    assert.deepEqual(Array.from(streamed.aggregate()), Array.from(whole.aggregate()));
    assert.deepEqual(streamed.fileRanking(), whole.fileRanking());
    // And the aggregate equals a direct count over the rows.
    const direct = new Array(whole.pageCount).fill(0);
    for (const row of whole.rows('selected')) row.forEach((c, p) => (direct[p] += c > 0 ? 1 : 0));
    assert.deepEqual(Array.from(whole.aggregate()), direct);
  }
});

test('synthetic: the planted hot page is chosen at every step, the cold page never', () => {
  const { trace, manifest, hotPage, coldPage } = syntheticTrace({ pages: 400, steps: 30, seed: 9 });
  const m = new HeatmapModel(trace, manifest);
  for (let s = 0; s < m.stepCount; s++) {
    assert.equal(m.countAt(s, hotPage), m.sparsePairs);
    assert.equal(m.countAt(s, coldPage), 0);
  }
  assert.equal(m.aggregate()[hotPage], 30);
  assert.equal(m.aggregate()[coldPage], 0);
});

test('a failed append leaves the model unchanged', () => {
  const m = new HeatmapModel({ ...tinyTrace, steps: tinySteps.slice(0, 2) }, tinyManifest);
  const before = Array.from(m.aggregate());
  const bad = { ...tinySteps[2], pages: [[[], []], [[3], [99]], [[4], [5]]] };
  assert.throws(() => m.appendStep(bad), /step 2 layer 1 head 1: page 99 must be in \[0, 9\)/);
  assert.equal(m.stepCount, 2);
  assert.deepEqual(Array.from(m.aggregate()), before);
  m.appendStep(tinySteps[2]);
  assert.equal(m.stepCount, 3);
});

test('malformed traces and manifests throw TraceShapeError naming the values', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['layers', () => new HeatmapModel({ ...tinyTrace, steps: [{ ...tinySteps[0], pages: [[[], []]] }] }), /pages must have one entry per layer \(3\), got 1/],
    ['heads', () => new HeatmapModel({ ...tinyTrace, steps: [{ ...tinySteps[0], pages: [[[]], [[1]], [[2]]] }] }), /layer 0: pages must have one list per KV head \(2\), got 1/],
    ['dense', () => new HeatmapModel({ ...tinyTrace, steps: [{ ...tinySteps[0], pages: [[[1], []], [[1], [1]], [[1], [1]]] }] }), /layer 0 is dense and must list no pages, got 1/],
    ['position', () => new HeatmapModel({ ...tinyTrace, steps: [tinySteps[1], tinySteps[0]] }), /position must be an integer > the previous step's \(31\).*got 30/],
    ['pageSize', () => new HeatmapModel({ ...tinyTrace, pageSize: 8 }, tinyManifest), /manifest.pageSize \(4\) must equal the trace's pageSize \(8\)/],
    ['overlap', () => new HeatmapModel(tinyTrace, { ...tinyManifest, files: [tinyManifest.files[0], { ...tinyManifest.files[1], tokenStart: 10 }] }), /starts at token 10, inside the previous span \(which ends at 14\)/],
    ['past context', () => new HeatmapModel({ ...tinyTrace, contextTokens: 20, steps: [] }, tinyManifest), /ends at token 27, past the trace's contextTokens \(20\)/],
    ['version', () => new HeatmapModel({ ...tinyTrace, version: 2 as 1 }), /trace.version must be 1, got 2/],
    ['attention', () => new HeatmapModel({ ...tinyTrace, attention: new Array(10).fill(1) }), /trace.attention must have one entry per page \(at most 9\), got 10/],
  ];
  for (const [name, make, message] of cases) {
    assert.throws(make, (err: unknown) => err instanceof TraceShapeError && message.test(err.message), name);
  }
});

test('Bands without a manifest: one prompt band and the answer band', () => {
  const b = new Bands(undefined, 30, 4);
  assert.deepEqual(
    b.list.map((x) => [x.kind, x.tokenStart, x.tokenEnd]),
    [
      ['prompt', 0, 30],
      ['answer', 30, Infinity],
    ],
  );
  const empty = new Bands(undefined, 0, 4);
  assert.deepEqual(empty.list.map((x) => x.kind), ['answer']);
});
