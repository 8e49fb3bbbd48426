// The physical pages of the KV cache: a free list. One pool serves every layer (a physical page id indexes all
// layers' buffers alike), as in Quest. Pure TS: the GPU buffers live in kvCache.ts.
import { EngineError, ShapeError } from '../errors';

/** The pool (or a page table) has no room for what was asked: the context is longer than the cache. */
export function kvCapacityError(message: string): EngineError {
  return new EngineError('kv-capacity', message);
}

export class PagePool {
  // Pages handed out next are popped from the end: a released page is the first one reused.
  private readonly free: number[] = [];
  private readonly inUse: Uint8Array;

  /** `capacity` physical pages, ids 0 .. capacity-1, all free; handed out in ascending order. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new ShapeError(`page pool: capacity (${capacity}) must be an integer >= 1`);
    }
    this.inUse = new Uint8Array(capacity);
    for (let p = capacity - 1; p >= 0; p--) this.free.push(p);
  }

  get freeCount(): number {
    return this.free.length;
  }

  get usedCount(): number {
    return this.capacity - this.free.length;
  }

  isUsed(page: number): boolean {
    return this.inUse[page] === 1;
  }

  /** A free physical page; throws a 'kv-capacity' error when none is left. */
  alloc(): number {
    const page = this.free.pop();
    if (page === undefined) {
      throw kvCapacityError(`page pool: all ${this.capacity} pages are in use; free some or make the cache larger`);
    }
    this.inUse[page] = 1;
    return page;
  }

  /** Takes the specific page `page` (reloading a persisted page table); throws if it is out of range or in use. */
  claim(page: number): void {
    this.checkId(page, 'claim');
    if (this.inUse[page]) throw new ShapeError(`page pool: claim(${page}): the page is already in use`);
    this.free.splice(this.free.lastIndexOf(page), 1);
    this.inUse[page] = 1;
  }

  /** Returns `page` to the free list; throws on a page that is not in use (a double release is a bookkeeping bug). */
  release(page: number): void {
    this.checkId(page, 'release');
    if (!this.inUse[page]) throw new ShapeError(`page pool: release(${page}): the page is not in use`);
    this.inUse[page] = 0;
    this.free.push(page);
  }

  private checkId(page: number, what: string): void {
    if (!Number.isInteger(page) || page < 0 || page >= this.capacity) {
      throw new ShapeError(`page pool: ${what}(${page}): page ids are integers in 0..${this.capacity - 1}`);
    }
  }
}
