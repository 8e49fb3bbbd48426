// The selection trace: which KV pages each decode step read, per layer and KV head, and where the answer's attention
// went. It is what the engine records, what `quest-lens generate --trace FILE` writes as JSON, and what the heatmaps
// draw.

/** One decode step: the token it produced and the pages it read. */
export interface TraceStep {
  /** Token id produced by this step. */
  readonly token: number;
  /** That token's text (as the tokenizer decodes it alone; may be a partial UTF-8 sequence shown as U+FFFD). */
  readonly text: string;
  /** Position of the query that produced the token (= tokens in the KV cache before this step). */
  readonly position: number;
  /**
   * (layers, kvHeads, ≤ pageBudget) page indices read by each layer and KV head, ascending. Dense layers list no
   * pages (they read all of them); the last, partly filled page is always included in sparse layers.
   */
  readonly pages: readonly (readonly (readonly number[])[])[];
  /**
   * (layers, kvHeads, pages in context - 1) page scores (the last page is always read, unscored), only when scores
   * were requested (`--trace-scores`); dense layers and dense mode empty; absent on the first step (chosen by prefill).
   */
  readonly scores?: readonly (readonly (readonly number[])[])[];
  /**
   * (pages in context) attention this step's query paid to each page: softmax weights summed over the last layers
   * (4 by default) and every query head, position 0 excluded; only when scores were requested; absent on the first
   * step.
   */
  readonly attention?: readonly number[];
}

export interface SelectionTrace {
  readonly version: 1;
  /** Model file name (not a path). */
  readonly model: string;
  readonly mode: 'dense' | 'quest';
  readonly pageSize: number;
  /** Pages each sparse layer reads per KV head, the last page included (token budget / pageSize). */
  readonly pageBudget: number;
  readonly layers: number;
  readonly kvHeads: number;
  /** Layers 0 .. denseLayers-1 read every page. */
  readonly denseLayers: number;
  /** Prompt tokens in the KV cache when decoding started. */
  readonly contextTokens: number;
  /** The prompt's token ids, so pages can be mapped back to text. */
  readonly promptTokens: readonly number[];
  readonly steps: readonly TraceStep[];
  /**
   * (pages in the cache after the last step) attention the whole answer paid to each page: the steps' `attention`
   * summed, always recorded (Engine.attentionMass); absent when nothing was counted (an answer of one token).
   */
  readonly attention?: readonly number[];
}
