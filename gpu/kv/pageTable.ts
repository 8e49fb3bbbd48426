// One sequence's page table: logical page i (tokens i*pageSize .. (i+1)*pageSize-1) -> a physical page of the pool.
// Pure TS; kvCache.ts uploads `entries` to the GPU's pageTable buffer. Logical pages 0 .. pages-1 are always mapped.
import { checkShape } from '../errors';
import { checkPageSize, pagesFor } from './layout';
import { kvCapacityError, type PagePool } from './pagePool';

/** The entry of a logical page that has no physical page. */
export const unmappedPage = 0xffffffff;

/** Logical pages newly mapped by a reserve(): [first, end). */
export interface MappedRange {
  readonly first: number;
  readonly end: number;
}

export class PageTable {
  // (maxPages) u32: logical page -> physical page, unmappedPage past `pages`.
  private readonly table: Uint32Array;
  private mapped = 0;

  constructor(
    readonly pool: PagePool,
    readonly pageSize: number,
    readonly maxPages: number = pool.capacity,
  ) {
    checkPageSize(pageSize);
    checkShape(
      Number.isInteger(maxPages) && maxPages >= 1 && maxPages <= pool.capacity,
      `page table: maxPages (${maxPages}) must be an integer in 1..pool capacity (${pool.capacity})`,
    );
    this.table = new Uint32Array(maxPages).fill(unmappedPage);
  }

  /** Logical pages mapped (tokens 0 .. pages*pageSize-1 are backed). */
  get pages(): number {
    return this.mapped;
  }

  /** Tokens this table can ever back. */
  get capacity(): number {
    return this.maxPages * this.pageSize;
  }

  /** The whole table, (maxPages) u32, for upload; do not modify. */
  get entries(): Readonly<Uint32Array> {
    return this.table;
  }

  /** The physical page of logical page `logical`; throws if it is not mapped. */
  physical(logical: number): number {
    checkShape(
      Number.isInteger(logical) && logical >= 0 && logical < this.mapped,
      `page table: logical page ${logical} is not mapped (pages 0..${this.mapped - 1} are)`,
    );
    return this.table[logical];
  }

  /**
   * Maps pages from the pool so that tokens 0 .. tokens-1 are backed; returns the logical pages newly mapped.
   * Throws a 'kv-capacity' error, mapping nothing, when `tokens` exceeds the table or the pool.
   */
  reserve(tokens: number): MappedRange {
    checkShape(Number.isInteger(tokens) && tokens >= 0, `page table: reserve(${tokens}): tokens must be an integer >= 0`);
    const need = pagesFor(tokens, this.pageSize);
    if (need > this.maxPages) {
      throw kvCapacityError(
        `kv cache: ${tokens} tokens need ${need} pages of ${this.pageSize}, the cache holds ${this.maxPages} pages ` +
          `(${this.capacity} tokens); shorten the context or make the cache larger`,
      );
    }
    const first = this.mapped;
    if (need - first > this.pool.freeCount) {
      throw kvCapacityError(
        `kv cache: ${tokens} tokens need ${need - first} more pages, the page pool has ${this.pool.freeCount} free`,
      );
    }
    for (let p = first; p < need; p++) this.table[p] = this.pool.alloc();
    this.mapped = Math.max(first, need);
    return { first, end: this.mapped };
  }

  /** Keeps the pages of tokens 0 .. tokens-1 and returns the others to the pool. */
  truncate(tokens: number): void {
    checkShape(Number.isInteger(tokens) && tokens >= 0, `page table: truncate(${tokens}): tokens must be an integer >= 0`);
    const keep = pagesFor(tokens, this.pageSize);
    for (let p = this.mapped - 1; p >= keep; p--) {
      this.pool.release(this.table[p]);
      this.table[p] = unmappedPage;
    }
    this.mapped = Math.min(this.mapped, keep);
  }

  /** The mapped entries (pages) u32, for persisting the cache beside its pages. */
  snapshot(): Uint32Array {
    return this.table.slice(0, this.mapped);
  }

  /** A table mapping logical page i to `entries[i]`, claiming those pages from `pool` (reloading a persisted cache). */
  static restore(pool: PagePool, pageSize: number, entries: ArrayLike<number>, maxPages: number = pool.capacity): PageTable {
    const t = new PageTable(pool, pageSize, maxPages);
    checkShape(entries.length <= maxPages, `page table: restore of ${entries.length} pages, the table holds ${maxPages}`);
    const claimed: number[] = [];
    try {
      for (let i = 0; i < entries.length; i++) {
        pool.claim(entries[i]);
        claimed.push(entries[i]);
        t.table[i] = entries[i];
      }
    } catch (err) {
      for (const p of claimed) pool.release(p);
      throw err;
    }
    t.mapped = entries.length;
    return t;
  }
}
