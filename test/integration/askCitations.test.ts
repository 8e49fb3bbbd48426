// Citations of an answer (gpu/session/citations.ts) on the hand-made manifest and steps of test/fixtures/traces/tiny.ts
// (pageSize 4; alpha.ts = tokens 2–13, lines [4,7) [7,11) [11,14); beta.py = tokens 14–26, header 14, lines [15,18)
// [18,18) [18,22) [22,27)). Pure: no GPU; expected values worked out by hand from those lists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerCitations, attentionCitations, pageSelectionCounts, pagesSelectedPerFile } from '../../gpu/session/citations';
import type { TraceStep } from '../../gpu/trace';
import { tinyManifest, tinySteps } from '../fixtures/traces/tiny';

test('file:line written in the answer: resolved against the context, out-of-range lines and unknown files dropped', () => {
  const answer =
    'See src/alpha.ts:2, then `lib/beta.py#L2-L9` and alpha.ts:3. Not nope.ts:1, not src/alpha.ts:7, ' +
    'and demo/src/alpha.ts:2 again (the same line twice is cited once). http://x.io/alpha.ts:1 is a URL.';
  assert.deepEqual(answerCitations(answer, tinyManifest), [
    { folder: 0, path: 'src/alpha.ts', line: 2, endLine: 2, source: 'answer' },
    { folder: 0, path: 'lib/beta.py', line: 2, endLine: 4, source: 'answer' }, // the range is cut at the file's 4 lines
    { folder: 0, path: 'src/alpha.ts', line: 3, endLine: 3, source: 'answer' }, // a unique file name resolves
  ]);
});

test('page selection counts: every sparse layer and KV head counts, the step\'s own last page does not', () => {
  // Steps 0 and 1 of the tiny trace (positions 30 and 31, last page 7, budget 3).
  const counts = pageSelectionCounts(tinySteps.slice(0, 2), tinyManifest, 3);
  assert.deepEqual(Array.from(counts), [1, 2, 4, 6, 1, 2, 0]); // pages 0..6 of the 27-token context
  // A step whose cache had no more pages than the budget read everything, and a list longer than the budget is
  // the first token's (the dense prefill's): neither counts.
  const early: TraceStep = { token: 1, text: 'x', position: 9, pages: [[[], []], [[0, 1, 2], [0, 1, 2]], [[0, 1, 2], [0, 1, 2]]] };
  const first: TraceStep = { token: 1, text: 'x', position: 29, pages: [[[], []], [[0, 1, 2, 3, 4, 5, 6, 7], []], [[], []]] };
  assert.deepEqual(Array.from(pageSelectionCounts([early, first], tinyManifest, 3)), [0, 0, 0, 0, 0, 0, 0]);
  // Dense steps list nothing.
  const dense: TraceStep = { token: 1, text: 'x', position: 30, pages: [[[], []], [[], []], [[], []]] };
  assert.deepEqual(Array.from(pageSelectionCounts([dense], tinyManifest, 3)), [0, 0, 0, 0, 0, 0, 0]);
});

test('attention citations: the most attended context pages as line ranges, merged within a file, with their share', () => {
  // Pages p0…p8 of the cache; p7 (question framing + answer) and p8 (answer) are past the 27-token context.
  // p0: alpha's header (cited as line 1); p2: alpha 2–3; p3: alpha 3 + beta header and line 1 (2 tokens each: the
  // first in context order); p4: beta 1–3; p5: beta 3–4. Context file pages hold 5 + 1 + 2 + 0.5 + 3 = 11.5.
  const mass = [5, 0, 1, 2, 0.5, 3, 0, 9, 40];
  assert.deepEqual(attentionCitations(mass, tinyManifest), [
    { folder: 0, path: 'src/alpha.ts', line: 1, endLine: 1, pages: [0], mass: 5 / 11.5, source: 'attention' },
    { folder: 0, path: 'lib/beta.py', line: 3, endLine: 4, pages: [5], mass: 3 / 11.5, source: 'attention' },
    { folder: 0, path: 'src/alpha.ts', line: 3, endLine: 3, pages: [3], mass: 2 / 11.5, source: 'attention' },
  ]);
  // The 4th page (p2, alpha 2–3) bridges alpha 1 and alpha 3: one citation of three pages, most attended first.
  assert.deepEqual(attentionCitations(mass, tinyManifest, 4), [
    { folder: 0, path: 'src/alpha.ts', line: 1, endLine: 3, pages: [0, 3, 2], mass: 8 / 11.5, source: 'attention' },
    { folder: 0, path: 'lib/beta.py', line: 3, endLine: 4, pages: [5], mass: 3 / 11.5, source: 'attention' },
  ]);
  // Nothing attended in the context: no citation; a trace shorter than the context is read as far as it goes.
  assert.deepEqual(attentionCitations([0, 0, 0, 0, 0, 0, 0, 9], tinyManifest), []);
  assert.deepEqual(attentionCitations([0, 0, 1], tinyManifest), [{ folder: 0, path: 'src/alpha.ts', line: 2, endLine: 3, pages: [2], mass: 1, source: 'attention' }]);
});

test('pages selected per file: distinct pages and selections, a shared page counted for both files', () => {
  const counts = Float64Array.from([1, 2, 4, 6, 1, 2, 0]);
  assert.deepEqual(pagesSelectedPerFile(counts, tinyManifest), [
    // alpha: pages 0–3 → 1 + 2 + 4 + 6; beta: pages 3–5 → 6 + 1 + 2 (page 6 never selected).
    { path: 'demo/src/alpha.ts', folder: 0, relPath: 'src/alpha.ts', pages: 4, selections: 13 },
    { path: 'demo/lib/beta.py', folder: 0, relPath: 'lib/beta.py', pages: 3, selections: 9 },
  ]);
});
