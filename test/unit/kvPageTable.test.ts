import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EngineError, ShapeError } from '../../gpu/errors';
import { PagePool } from '../../gpu/kv/pagePool';
import { PageTable, unmappedPage } from '../../gpu/kv/pageTable';

const isCapacity = (e: unknown) => e instanceof EngineError && e.code === 'kv-capacity';

test('a fresh pool hands out pages in ascending order and counts them', () => {
  const pool = new PagePool(4);
  assert.deepEqual([pool.alloc(), pool.alloc(), pool.alloc()], [0, 1, 2]);
  assert.equal(pool.usedCount, 3);
  assert.equal(pool.freeCount, 1);
  assert.ok(pool.isUsed(2) && !pool.isUsed(3));
});

test('a released page is the next one reused', () => {
  const pool = new PagePool(4);
  for (let i = 0; i < 4; i++) pool.alloc();
  pool.release(2);
  pool.release(0);
  assert.deepEqual([pool.alloc(), pool.alloc()], [0, 2]);
});

test('an exhausted pool throws a kv-capacity error naming its size', () => {
  const pool = new PagePool(2);
  pool.alloc();
  pool.alloc();
  assert.throws(() => pool.alloc(), (e: Error) => isCapacity(e) && /all 2 pages are in use/.test(e.message));
});

test('double release, bad ids and claiming a used page are rejected', () => {
  const pool = new PagePool(3);
  const p = pool.alloc();
  pool.release(p);
  assert.throws(() => pool.release(p), /release\(0\): the page is not in use/);
  assert.throws(() => pool.release(3), /page ids are integers in 0..2/);
  assert.throws(() => pool.claim(-1), ShapeError);
  pool.claim(1);
  assert.throws(() => pool.claim(1), /claim\(1\): the page is already in use/);
  assert.throws(() => new PagePool(0), /capacity \(0\) must be an integer >= 1/);
});

test('reserve maps whole pages for a token count and reports the new ones', () => {
  const t = new PageTable(new PagePool(8), 4);
  assert.deepEqual(t.reserve(1), { first: 0, end: 1 });
  assert.deepEqual(t.reserve(4), { first: 1, end: 1 }); // still one page
  assert.deepEqual(t.reserve(9), { first: 1, end: 3 });
  assert.equal(t.pages, 3);
  assert.deepEqual([...t.entries.subarray(0, 4)], [0, 1, 2, unmappedPage]);
  assert.equal(t.physical(2), 2);
  assert.throws(() => t.physical(3), /logical page 3 is not mapped \(pages 0..2 are\)/);
});

test('pages freed by one table come back scattered in another (non-identity mapping)', () => {
  const pool = new PagePool(6);
  const a = new PageTable(pool, 2);
  a.reserve(12); // all six pages, identity
  a.truncate(4); // keeps [0, 1], releases 5, 4, 3, 2: page 2 is on top
  const b = new PageTable(pool, 2);
  b.reserve(8);
  assert.deepEqual([...b.snapshot()], [2, 3, 4, 5]);
  a.truncate(0); // releases 1, then 0
  b.reserve(12);
  assert.deepEqual([...b.snapshot()], [2, 3, 4, 5, 0, 1]);
  assert.equal(pool.freeCount, 0);
  b.truncate(5); // keeps tokens 0..4: three pages
  assert.equal(b.pages, 3);
  assert.equal(pool.freeCount, 3);
  assert.deepEqual([...b.entries], [2, 3, 4, unmappedPage, unmappedPage, unmappedPage]);
});

test('reserve past the table or the pool throws kv-capacity and maps nothing', () => {
  const pool = new PagePool(4);
  const t = new PageTable(pool, 16, 3);
  t.reserve(20);
  assert.throws(
    () => t.reserve(49),
    (e: Error) => isCapacity(e) && /49 tokens need 4 pages of 16, the cache holds 3 pages \(48 tokens\)/.test(e.message),
  );
  pool.alloc(); // pool: 4 pages, 2 used by t, 1 here -> 1 free
  pool.alloc();
  assert.throws(() => t.reserve(48), (e: Error) => isCapacity(e) && /need 1 more pages, the page pool has 0 free/.test(e.message));
  assert.equal(t.pages, 2);
});

test('restore claims the persisted pages and rejects a page already in use', () => {
  const pool = new PagePool(5);
  const t = PageTable.restore(pool, 16, [3, 0, 4]);
  assert.equal(t.pages, 3);
  assert.deepEqual([...t.snapshot()], [3, 0, 4]);
  assert.equal(pool.freeCount, 2);
  assert.deepEqual([pool.alloc(), pool.alloc()], [1, 2]);
  const other = new PagePool(5);
  other.claim(4);
  assert.throws(() => PageTable.restore(other, 16, [1, 4]), /claim\(4\): the page is already in use/);
  assert.equal(other.freeCount, 4, 'a failed restore gives back what it claimed');
});

test('a page table rejects a page size that is not a power of two', () => {
  assert.throws(() => new PageTable(new PagePool(2), 3), /pageSize \(3\) must be a power of two >= 1/);
  assert.throws(() => new PageTable(new PagePool(2), 0), /pageSize \(0\) must be a power of two >= 1/);
});
