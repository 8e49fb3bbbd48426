// The selection trace of a decodeStep, from the GPU to the host: the pages each sparse layer and KV head read (quest
// mode) and, on request, each sparse layer's page scores and the attention each page received at the step. Every
// buffer is made up front (the detail staging on the first request that asks for it, sized for the whole cache), so
// a decodeStep creates nothing. A traced step adds: one traceSelection dispatch per sparse layer and one copy for the
// pages; one copy per sparse layer and one for the attention when detail is asked for. The copies ride in the step's
// own command buffer and are mapped while the token is read back, so tracing adds no round trip. Each staging buffer
// is a ring of two slots, as the token's (sample.ts ResultReadback): a greedy generate() maps one step's trace while
// the next step, already submitted, copies into the other slot.
import type { Gpu } from './device';
import type { Forward, QuestSettings } from './forward/forward';
import { type Dispatch, Kernels, encodeDispatches } from './kernels/registry';
import { traceSelection, traceSelectionBytes, traceSelectionParams } from './kernels/traceSelection';
import type { KvLayout } from './kv/layout';
import { createStorage } from './buffers';

/** What one step recorded, in TraceStep's shapes. */
export interface StepTrace {
  /** (layers, kvHeads, ≤ pageBudget) pages read, ascending; dense layers empty. */
  readonly pages?: number[][][];
  /** (layers, kvHeads, pages in context - 1) page scores (the last page is read unscored); dense layers empty. */
  readonly scores?: number[][][];
  /** (pages in context) attention the step's query paid to each page (see Engine.attentionMass). */
  readonly attention?: number[];
}

/** What a request records per step. */
export interface TraceRequest {
  readonly pages: boolean;
  readonly scores: boolean;
  readonly attention: boolean;
}

/** Slots of each staging ring. */
const SLOTS = 2;

export class TraceReadback {
  /** [slot] the selection's MAP_READ copy. */
  private readonly selectionStaging: GPUBuffer[];
  /** [slot] (layers, kvHeads, maxPages) f32 scores, then (kvHeads, maxPages) f32 running attention totals. */
  private detailStaging: GPUBuffer[] | undefined;
  /** (pages) the running attention total after the previous step, summed over KV heads. */
  private previous = new Float64Array(0);
  private request: TraceRequest = { pages: false, scores: false, attention: false };
  private quest: QuestSettings | undefined;
  /** [slot] pages in context at the step last encoded into the slot. */
  private readonly pagesInContext = new Array<number>(SLOTS).fill(0);

  private constructor(
    private readonly gpu: Gpu,
    private readonly forward: Forward,
    private readonly layout: KvLayout,
    /** (layers, kvHeads, 1 + maxPages) u32, packed as (layers, kvHeads, 1 + pageBudget): count, then page ids. */
    private readonly selection: GPUBuffer,
    /** Per layer {layer, pageBudget}: the request's budget is written before its first step. */
    private readonly params: readonly GPUBuffer[],
    /** Per layer: traceSelection into `selection`. */
    private readonly gather: readonly Dispatch[],
  ) {
    const { GPUBufferUsage } = gpu.constants;
    this.selectionStaging = Array.from({ length: SLOTS }, (_, s) =>
      gpu.device.createBuffer({ label: `trace.selection.staging[${s}]`, size: selection.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
    );
  }

  static async create(gpu: Gpu, k: Kernels, forward: Forward, layout: KvLayout): Promise<TraceReadback> {
    const shape = { layers: layout.layers, kvHeads: layout.kvHeads, maxPages: layout.maxPages };
    const selection = createStorage(gpu, 'trace.selection', traceSelectionBytes(shape));
    const params: GPUBuffer[] = [];
    const gather: Dispatch[] = [];
    for (let l = 0; l < layout.layers; l++) {
      params.push(k.uniform(`trace.params[${l}]`, traceSelectionParams(l, layout.maxPages).buffer));
      gather.push(await traceSelection(k, { pageIds: forward.pageIds[l], pageCount: forward.pageCount[l], trace: selection, params: params[l] }, shape));
    }
    return new TraceReadback(gpu, forward, layout, selection, params, gather);
  }

  /** Before a request's first step: what it records (pages only in quest mode, scores only in quest mode). */
  begin(quest: QuestSettings, request: TraceRequest): void {
    const sparse = quest.mode === 'quest';
    this.quest = quest;
    this.request = { pages: request.pages && sparse, scores: request.scores && sparse, attention: request.attention };
    if (this.request.pages) {
      for (let l = 0; l < this.layout.layers; l++) this.gpu.device.queue.writeBuffer(this.params[l], 0, traceSelectionParams(l, quest.pageBudget));
    }
    if ((this.request.scores || this.request.attention) && !this.detailStaging) {
      const { layers, kvHeads, maxPages } = this.layout;
      const { GPUBufferUsage } = this.gpu.constants;
      this.detailStaging = Array.from({ length: SLOTS }, (_, s) =>
        this.gpu.device.createBuffer({
          label: `trace.detail.staging[${s}]`,
          size: (layers + 1) * kvHeads * maxPages * 4,
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        }),
      );
    }
    this.previous = new Float64Array(0);
  }

  /** Whether a step records anything. */
  get active(): boolean {
    return this.request.pages || this.request.scores || this.request.attention;
  }

  /**
   * Records the step's trace copies into `slot` after its dispatches; `length` is the cache's length after the step.
   * The slot's previous trace must have been read (or dropped unread) by then.
   */
  encode(encoder: GPUCommandEncoder, length: number, slot: number): void {
    const quest = this.quest;
    if (!quest) return;
    const { layers, kvHeads, maxPages, pageSize } = this.layout;
    const pagesInContext = Math.ceil(length / pageSize);
    this.pagesInContext[slot % SLOTS] = pagesInContext;
    const sparseFrom = quest.mode === 'quest' ? quest.denseLayers : layers;
    if (this.request.pages) {
      encodeDispatches(encoder, this.gather.slice(sparseFrom));
      encoder.copyBufferToBuffer(this.selection, 0, this.selectionStaging[slot % SLOTS], 0, layers * kvHeads * (1 + quest.pageBudget) * 4);
    }
    const staging = this.detailStaging?.[slot % SLOTS];
    if (!staging) return;
    const row = maxPages * 4;
    const scored = pagesInContext - 1;
    // One copy per buffer: every KV head's row but the last whole, the last one as far as it is used.
    if (this.request.scores && scored > 0) {
      for (let l = sparseFrom; l < layers; l++) {
        encoder.copyBufferToBuffer(this.forward.pageScores[l], 0, staging, l * kvHeads * row, (kvHeads - 1) * row + scored * 4);
      }
    }
    if (this.request.attention) {
      encoder.copyBufferToBuffer(this.forward.attentionMass.received, 0, staging, layers * kvHeads * row, (kvHeads - 1) * row + pagesInContext * 4);
    }
  }

  /**
   * The step last encoded into `slot`; call after its command buffer is submitted. Read the steps in the order they
   * were encoded: each step's attention is its running total minus the previous read's.
   */
  async read(slot: number): Promise<StepTrace> {
    const quest = this.quest;
    if (!quest) return {};
    const selectionStaging = this.selectionStaging[slot % SLOTS];
    const detailStaging = this.detailStaging?.[slot % SLOTS];
    const pagesInContext = this.pagesInContext[slot % SLOTS];
    const [selection, detail] = await Promise.all([
      this.request.pages ? this.mapped(selectionStaging) : undefined,
      detailStaging && (this.request.scores || this.request.attention) ? this.mapped(detailStaging) : undefined,
    ]);
    try {
      return {
        ...(selection ? { pages: this.parsePages(new Uint32Array(selection), quest) } : {}),
        ...(detail && this.request.scores ? { scores: this.parseScores(new Float32Array(detail), quest, pagesInContext) } : {}),
        ...(detail && this.request.attention ? { attention: this.parseAttention(new Float32Array(detail), pagesInContext) } : {}),
      };
    } finally {
      if (selection) selectionStaging.unmap();
      if (detail) detailStaging?.unmap();
    }
  }

  destroy(): void {
    this.selection.destroy();
    for (const b of [...this.selectionStaging, ...(this.detailStaging ?? [])]) b.destroy();
    for (const p of this.params) p.destroy();
  }

  private async mapped(staging: GPUBuffer): Promise<ArrayBuffer> {
    await staging.mapAsync(this.gpu.constants.GPUMapMode.READ);
    return staging.getMappedRange();
  }

  private parsePages(words: Uint32Array, quest: QuestSettings): number[][][] {
    const { layers, kvHeads } = this.layout;
    const rowWords = 1 + quest.pageBudget;
    const out: number[][][] = [];
    for (let l = 0; l < layers; l++) {
      const heads: number[][] = [];
      for (let h = 0; h < kvHeads; h++) {
        const at = (l * kvHeads + h) * rowWords;
        heads.push(l < quest.denseLayers ? [] : Array.from(words.subarray(at + 1, at + 1 + words[at])));
      }
      out.push(heads);
    }
    return out;
  }

  private parseScores(values: Float32Array, quest: QuestSettings, pagesInContext: number): number[][][] {
    const { layers, kvHeads, maxPages } = this.layout;
    const scored = pagesInContext - 1;
    const out: number[][][] = [];
    for (let l = 0; l < layers; l++) {
      const heads: number[][] = [];
      for (let h = 0; h < kvHeads; h++) {
        const at = (l * kvHeads + h) * maxPages;
        heads.push(l < quest.denseLayers || scored <= 0 ? [] : Array.from(values.subarray(at, at + scored)));
      }
      out.push(heads);
    }
    return out;
  }

  /** The running totals minus the previous step's, summed over KV heads (in float64: differences of f32 totals). */
  private parseAttention(values: Float32Array, pages: number): number[] {
    const { layers, kvHeads, maxPages } = this.layout;
    const base = layers * kvHeads * maxPages;
    const total = new Float64Array(pages);
    for (let h = 0; h < kvHeads; h++) {
      for (let p = 0; p < pages; p++) total[p] += values[base + h * maxPages + p];
    }
    const out = Array.from(total, (t, p) => Math.max(0, t - (this.previous[p] ?? 0)));
    this.previous = total;
    return out;
  }
}
