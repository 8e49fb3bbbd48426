// Citations of an answer (gpu/session/citations.ts) on the hand-made manifest and steps of test/fixtures/traces/tiny.ts
// (pageSize 4; alpha.ts = tokens 2–13, lines [4,7) [7,11) [11,14); beta.py = tokens 14–26, header 14, lines [15,18)
// [18,18) [18,22) [22,27)). Pure: no GPU; expected values worked out by hand from those lists.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerCitations, pageCitations, pageSelectionCounts, pagesSelectedPerFile } from '../../gpu/session/citations';
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

test('page citations: the most selected pages as line ranges, merged within a file', () => {
  const counts = Float64Array.from([1, 2, 4, 6, 1, 2, 0]);
  // Top 3: page 3 (alpha line 3 and beta's header + line 1, two tokens each: alpha, first in context order),
  // page 2 (alpha lines 2–3), page 1 (alpha lines 1–2): one merged range.
  assert.deepEqual(pageCitations(counts, tinyManifest), [{ folder: 0, path: 'src/alpha.ts', line: 1, endLine: 3, source: 'pages' }]);
  // Top 4 adds page 5 (beta lines 3–4, after page 1 by page order among equals).
  assert.deepEqual(pageCitations(counts, tinyManifest, 4), [
    { folder: 0, path: 'src/alpha.ts', line: 1, endLine: 3, source: 'pages' },
    { folder: 0, path: 'lib/beta.py', line: 3, endLine: 4, source: 'pages' },
  ]);
  assert.deepEqual(pageCitations(new Float64Array(7), tinyManifest), []);
});

test('pages selected per file: distinct pages and selections, a shared page counted for both files', () => {
  const counts = Float64Array.from([1, 2, 4, 6, 1, 2, 0]);
  assert.deepEqual(pagesSelectedPerFile(counts, tinyManifest), [
    // alpha: pages 0–3 → 1 + 2 + 4 + 6; beta: pages 3–5 → 6 + 1 + 2 (page 6 never selected).
    { path: 'demo/src/alpha.ts', folder: 0, relPath: 'src/alpha.ts', pages: 4, selections: 13 },
    { path: 'demo/lib/beta.py', folder: 0, relPath: 'lib/beta.py', pages: 3, selections: 9 },
  ]);
});
