// The heatmap's layout without a browser: viewport transforms, hit testing (pixel → step/page → file and lines),
// zoom/pan limits, the pixel → cell ranges, and the rasterizer's pixels (a selected page has the heat colour at any
// zoom, a never-selected page the background, an incremental row draw equals a full redraw).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { heatLut, mix, packPixel, parseColor, unpackPixel, type Rgba } from '../../webview/heatmap/colors';
import { describeAggregate, describeBand, describeLayerCell } from '../../webview/heatmap/describe';
import { keyAction } from '../../webview/heatmap/keys';
import { HeatmapModel } from '../../webview/heatmap/model';
import { planRaster, rasterize } from '../../webview/heatmap/raster';
import {
  clampViewport,
  columnRanges,
  fitViewport,
  hitTest,
  pageAtX,
  panViewport,
  revealCell,
  rowRanges,
  rowsOfSteps,
  stepAtY,
  xOfPage,
  yOfStep,
  zoomViewport,
  type Viewport,
} from '../../webview/heatmap/viewport';
import { syntheticTrace } from '../fixtures/traces/generate';
import { tinyManifest, tinyTrace } from '../fixtures/traces/tiny';

const bg: Rgba = { r: 31, g: 31, b: 31, a: 1 };
const heat: Rgba = { r: 209, g: 134, b: 22, a: 1 };
const absentColor: Rgba = { r: 45, g: 45, b: 45, a: 1 };

test('fitViewport: the whole extent, cells no larger than the fit limits', () => {
  assert.deepEqual(fitViewport(900, 120, { pages: 9, steps: 5 }), {
    width: 900,
    height: 120,
    pageStart: 0,
    pageSpan: 9,
    stepStart: 0,
    stepSpan: 10,
  });
  const big = fitViewport(1000, 500, { pages: 8192, steps: 512 });
  assert.equal(big.pageSpan, 8192);
  assert.equal(big.stepSpan, 512);
});

test('transforms are inverse; hit testing maps pixels to (step, page) and the token under x', () => {
  const vp: Viewport = { width: 800, height: 100, pageStart: 0, pageSpan: 8, stepStart: 0, stepSpan: 5 };
  // Each page is 100 px wide, each step 20 px tall.
  assert.equal(xOfPage(vp, 3), 300);
  assert.equal(yOfStep(vp, 2), 40);
  assert.equal(pageAtX(vp, 350), 3.5);
  assert.equal(stepAtY(vp, 45), 2.25);
  const extent = { pages: 8, steps: 5 };
  assert.deepEqual(hitTest(vp, 350, 45, extent, 4), { step: 2, page: 3, token: 14 });
  assert.deepEqual(hitTest(vp, 300, 40, extent, 4), { step: 2, page: 3, token: 12 });
  assert.deepEqual(hitTest(vp, 399.99, 59.99, extent, 4), { step: 2, page: 3, token: 15 });
  assert.deepEqual(hitTest(vp, 0, 0, extent, 4), { step: 0, page: 0, token: 0 });
  assert.equal(hitTest(vp, -1, 10, extent, 4), undefined);
  assert.equal(hitTest(vp, 800, 10, extent, 4), undefined);
  assert.equal(hitTest(vp, 10, 100, extent, 4), undefined);
  assert.equal(hitTest(vp, 10, 10, { pages: 0, steps: 5 }, 4), undefined);
});

test('hit testing through the model: pixel → page → file and lines (page 3 holds two files)', () => {
  const m = new HeatmapModel(tinyTrace, tinyManifest);
  const vp: Viewport = { width: 900, height: 50, pageStart: 0, pageSpan: 9, stepStart: 0, stepSpan: 5 };
  const extent = { pages: m.pageCount, steps: m.stepCount };
  // Page 3 spans x 300–400 and tokens 12–15: alpha's last line is tokens 12–13, beta starts at 14.
  const left = hitTest(vp, 310, 5, extent, m.pageSize);
  const right = hitTest(vp, 390, 5, extent, m.pageSize);
  assert.ok(left && right);
  assert.equal(left.page, 3);
  assert.equal(m.fileAtToken(left.token)?.path, 'demo/src/alpha.ts');
  assert.equal(m.fileAtToken(right.token)?.path, 'demo/lib/beta.py');
  assert.deepEqual(
    m.pageInfo(left.page).files.map((f) => [f.relPath, f.lines.start, f.lines.end]),
    [
      ['src/alpha.ts', 3, 3],
      ['lib/beta.py', 1, 1],
    ],
  );
});

test('columnRanges: zoomed out a column covers many pages, zoomed in a page covers many columns', () => {
  const out = columnRanges({ width: 4, height: 1, pageStart: 0, pageSpan: 10, stepStart: 0, stepSpan: 1 });
  // Column x covers pages [2.5x, 2.5x+2.5): every page whose cell intersects it.
  assert.deepEqual(Array.from(out.start), [0, 2, 5, 7]);
  assert.deepEqual(Array.from(out.end), [3, 5, 8, 10]);
  const zin = columnRanges({ width: 6, height: 1, pageStart: 1, pageSpan: 2, stepStart: 0, stepSpan: 1 });
  assert.deepEqual(Array.from(zin.start), [1, 1, 1, 2, 2, 2]);
  assert.deepEqual(Array.from(zin.end), [2, 2, 2, 3, 3, 3]);
  const rows = rowRanges({ width: 1, height: 3, pageStart: 0, pageSpan: 1, stepStart: 0, stepSpan: 7 });
  assert.deepEqual(Array.from(rows.start), [0, 2, 4]);
  assert.deepEqual(Array.from(rows.end), [3, 5, 7]);
});

test('zoom keeps the cell under the pointer in place and stops at the limits; pan stops at the edges', () => {
  const extent = { pages: 1000, steps: 100 };
  const vp = fitViewport(1000, 400, extent);
  const z = zoomViewport(vp, 4, 2, 250, 100, extent);
  assert.ok(Math.abs(pageAtX(z, 250) - pageAtX(vp, 250)) < 1e-9);
  assert.ok(Math.abs(stepAtY(z, 100) - stepAtY(vp, 100)) < 1e-9);
  assert.equal(z.pageSpan, 250);
  assert.equal(z.stepSpan, 50);
  // At most maxColPx (128) per page: 1000 px show ≥ 7.8 pages however far one zooms.
  const deep = zoomViewport(vp, 1e6, 1e6, 500, 200, extent);
  assert.ok(Math.abs(deep.pageSpan - 1000 / 128) < 1e-9);
  assert.ok(Math.abs(deep.stepSpan - 400 / 24) < 1e-9);
  // Zooming out never shows more than the extent.
  assert.deepEqual(zoomViewport(vp, 1e-6, 1e-6, 10, 10, extent), vp);
  const panned = panViewport(z, 1e6, 1e6, extent);
  assert.equal(panned.pageStart, 0);
  assert.equal(panned.stepStart, 0);
  const far = panViewport(z, -1e6, -1e6, extent);
  assert.equal(far.pageStart, 1000 - 250);
  assert.equal(far.stepStart, 100 - 50);
  assert.deepEqual(clampViewport({ ...z, pageStart: -5 }, extent).pageStart, 0);
});

test('revealCell pans the least to show a cell', () => {
  const extent = { pages: 1000, steps: 100 };
  const vp: Viewport = { width: 100, height: 100, pageStart: 100, pageSpan: 50, stepStart: 10, stepSpan: 20 };
  assert.deepEqual(revealCell(vp, 15, 120, extent), vp);
  const right = revealCell(vp, 15, 160, extent);
  assert.equal(right.pageStart, 111);
  const up = revealCell(vp, 3, 120, extent);
  assert.equal(up.stepStart, 3);
});

test('rowsOfSteps: the device rows an incremental draw repaints', () => {
  const vp: Viewport = { width: 10, height: 100, pageStart: 0, pageSpan: 10, stepStart: 0, stepSpan: 40 };
  assert.deepEqual(rowsOfSteps(vp, 3, 4), [7, 10]);
  assert.deepEqual(rowsOfSteps(vp, 0, 40), [0, 100]);
  assert.deepEqual(rowsOfSteps(vp, 50, 51), [100, 100]);
});

test('parseColor reads the forms theme variables and canvases produce', () => {
  const cases: [string, Rgba | undefined][] = [
    ['#d18616', { r: 209, g: 134, b: 22, a: 1 }],
    ['#FFF', { r: 255, g: 255, b: 255, a: 1 }],
    ['#0000ff80', { r: 0, g: 0, b: 255, a: 128 / 255 }],
    ['#1234', { r: 0x11, g: 0x22, b: 0x33, a: 0x44 / 255 }],
    ['rgb(1, 2, 3)', { r: 1, g: 2, b: 3, a: 1 }],
    ['rgba(10, 20, 30, 0.5)', { r: 10, g: 20, b: 30, a: 0.5 }],
    ['rgb(10 20 30 / 25%)', { r: 10, g: 20, b: 30, a: 0.25 }],
    ['rgb(100%, 0%, 50%)', { r: 255, g: 0, b: 128, a: 1 }],
    ['', undefined],
    ['orange', undefined],
    ['#12345', undefined],
    ['rgb(1, 2)', undefined],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseColor(text), want, text);
});

test('heatLut: level 0 is the background exactly, the maximum is the heat colour exactly, all in between visible', () => {
  const lut = heatLut(4, bg, heat);
  assert.deepEqual(unpackPixel(lut[0]), bg);
  assert.deepEqual(unpackPixel(lut[4]), heat);
  assert.deepEqual(unpackPixel(lut[1]), mix(bg, heat, 0.3 + 0.7 / 4));
  assert.deepEqual(unpackPixel(packPixel(absentColor)), absentColor);
});

function raster(m: HeatmapModel, vp: Viewport): Uint32Array {
  const out = new Uint32Array(vp.width * vp.height);
  rasterize(out, planRaster(vp), m.rows('selected'), { lut: heatLut(m.sparsePairs, bg, heat), absent: packPixel(absentColor) });
  return out;
}

const px = (out: Uint32Array, vp: Viewport, x: number, y: number): Rgba => unpackPixel(out[Math.floor(y) * vp.width + Math.floor(x)]);
const center = (vp: Viewport, step: number, page: number): [number, number] => [
  xOfPage(vp, page + 0.5),
  yOfStep(vp, step + 0.5),
];

test('rasterize (tiny): selected page → heat, never selected → background, not in context → absent', () => {
  const m = new HeatmapModel(tinyTrace, tinyManifest);
  const vp: Viewport = { width: 90, height: 60, pageStart: 0, pageSpan: 9, stepStart: 0, stepSpan: 6 };
  const out = raster(m, vp);
  assert.deepEqual(px(out, vp, ...center(vp, 0, 3)), heat, 'page 3 at step 0: all 4 sparse layer-heads');
  assert.deepEqual(px(out, vp, ...center(vp, 4, 4)), heat);
  for (let s = 0; s < 5; s++) assert.deepEqual(px(out, vp, ...center(vp, s, 6)), bg, `page 6 at step ${s}`);
  assert.deepEqual(px(out, vp, ...center(vp, 0, 8)), absentColor, 'page 8 is not in context at step 0');
  assert.deepEqual(px(out, vp, ...center(vp, 2, 8)), heat);
  assert.deepEqual(px(out, vp, ...center(vp, 5, 0)), absentColor, 'row 5 is below the last step');
  assert.deepEqual(px(out, vp, ...center(vp, 0, 0)), mix(bg, heat, 0.3 + 0.7 / 4), 'one of four');
});

test('rasterize (8,192 pages × 512 steps, zoomed out): the hot page keeps the heat colour, the cold page stays background', () => {
  const { trace, manifest, hotPage, coldPage } = syntheticTrace({ pages: 8192, steps: 512, seed: 2 });
  const m = new HeatmapModel(trace, manifest);
  // 931 columns for 8,192 pages: a column covers 8–9 pages, so only a max keeps one page's colour visible.
  const vp = fitViewport(931, 300, { pages: m.pageCount, steps: m.stepCount });
  const out = raster(m, vp);
  const hotX = xOfPage(vp, hotPage + 0.5);
  for (const y of [0, 100, 299]) assert.deepEqual(px(out, vp, hotX, y), heat, `hot page column at y=${y}`);
  // The cold page's column also holds neighbours; check the exact count instead at 1 px per page.
  const zoomed: Viewport = { width: 64, height: 512, pageStart: coldPage - 32, pageSpan: 64, stepStart: 0, stepSpan: 512 };
  const zout = raster(m, zoomed);
  for (const y of [0, 255, 511]) assert.deepEqual(px(zout, zoomed, 32.5, y), bg, `cold page at step ${y}`);
});

test('rasterize: drawing only the rows of new steps equals a full redraw', () => {
  const { trace, manifest } = syntheticTrace({ pages: 500, steps: 60, pageSize: 8, pageBudget: 11, seed: 5 });
  const whole = new HeatmapModel(trace, manifest);
  for (const vp of [
    fitViewport(333, 90, { pages: whole.pageCount, steps: 80 }), // rows of 1.125 steps: a device row can hold two
    fitViewport(700, 480, { pages: whole.pageCount, steps: 60 }), // 8 px per step
  ]) {
    const streamed = new HeatmapModel({ ...trace, steps: [] }, manifest);
    const plan = planRaster(vp);
    const colors = { lut: heatLut(streamed.sparsePairs, bg, heat), absent: packPixel(absentColor) };
    const out = new Uint32Array(vp.width * vp.height);
    rasterize(out, plan, streamed.rows('selected'), colors);
    for (const s of trace.steps) {
      const before = streamed.stepCount;
      streamed.appendStep(s);
      const [y0, y1] = rowsOfSteps(vp, before, streamed.stepCount);
      rasterize(out, plan, streamed.rows('selected'), colors, y0, y1);
    }
    assert.deepEqual(out, raster(whole, vp));
  }
});

test('keyboard: arrows, Shift ×10, PageUp/Down, Home/End, , and . between selected pages, Enter, zoom keys; all clamped', () => {
  const m = new HeatmapModel(tinyTrace, tinyManifest);
  const grid = { steps: m.stepCount, pages: m.pageCount, visibleSteps: 2.5, selected: (s: number) => m.selectedPages(s) };
  const press = (key: string, from = { step: 2, page: 4 }, shift = false, ctrl = false) => keyAction({ key, shift, ctrl }, from, grid);
  const to = (step: number, page: number) => ({ kind: 'move', to: { step, page } });
  assert.deepEqual(press('ArrowLeft'), to(2, 3));
  assert.deepEqual(press('ArrowRight'), to(2, 5));
  assert.deepEqual(press('ArrowUp'), to(1, 4));
  assert.deepEqual(press('ArrowDown'), to(3, 4));
  assert.deepEqual(press('ArrowRight', undefined, true), to(2, 8), 'Shift: ten pages, clamped to the last');
  assert.deepEqual(press('ArrowUp', undefined, true), to(0, 4));
  assert.deepEqual(press('PageDown'), to(4, 4));
  assert.deepEqual(press('Home'), to(2, 0));
  assert.deepEqual(press('End', undefined, false, true), to(4, 4));
  // Step 2 selected pages 1, 3, 4, 5, 8.
  assert.deepEqual(press('.'), to(2, 5));
  assert.deepEqual(press(','), to(2, 3));
  assert.equal(press('.', { step: 2, page: 8 }), undefined);
  assert.deepEqual(press('Enter'), { kind: 'open' });
  assert.deepEqual(press('+'), { kind: 'zoom', factor: 2 });
  assert.deepEqual(press('-'), { kind: 'zoom', factor: 0.5 });
  assert.deepEqual(press('0'), { kind: 'fit' });
  assert.equal(press('Tab'), undefined);
  assert.equal(press('a'), undefined);
});

test('strip, aggregate and layer-view hover texts', () => {
  const m = new HeatmapModel(tinyTrace, tinyManifest);
  assert.deepEqual(describeBand(m, 2.2), {
    lines: ['demo/src/alpha.ts', 'Pages 0–3', '13 page-steps chosen, 4 of 4 pages'],
    open: { path: 'src/alpha.ts', line: 1, folder: 0 },
  });
  assert.deepEqual(describeBand(m, 8.1), { lines: ['(answer)', 'Pages 7–8'] });
  assert.deepEqual(describeAggregate(m, 6), ['Page 6: chosen at 0 of 5 steps', 'demo/lib/beta.py line 4']);
  assert.equal(describeAggregate(m, 9), undefined);
  assert.deepEqual(describeLayerCell(m, 0, 0, 1, 2), ['Step 0, layer 0, KV head 1', 'Page 2: dense layer: reads every page', 'demo/src/alpha.ts lines 2–3']);
  assert.deepEqual(describeLayerCell(m, 0, 2, 1, 0)?.[1], 'Page 0: selected');
  assert.deepEqual(describeLayerCell(m, 0, 2, 0, 0)?.[1], 'Page 0: not selected');
  assert.equal(describeLayerCell(m, 0, 2, 0, 8), undefined, 'page 8 is not in context at step 0');
});
