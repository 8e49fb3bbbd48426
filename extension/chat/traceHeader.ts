// The selection trace as the heatmap draws it. While tokens stream, the header comes from the model summary and the
// decode settings (the engine's whole trace only arrives with answer/didFinish); its contextTokens is the first
// step's position. Steps and finished traces pass through webviewStep/webviewTrace, which bridge two differences
// between what the engine records and what the heatmap checks (webview/heatmap/model.ts):
//  - The first answer token comes from the prompt's logits, computed by the dense prefill: its step lists no pages
//    (`pages: []`) and its position is the last prompt token's (contextTokens - 1). That query read every page, so
//    the step is drawn as such: sparse layers list all pages in context, dense layers none.
//  - Dense-mode steps list no pages at all; the heatmap wants one empty list per layer and KV head.
// Both are no-ops for a step already in the heatmap's shape.
import type { DecodeSettings, ModelSummary } from '../../gpu/protocol';
import type { SelectionTrace, TraceStep } from '../../gpu/trace';
import { denseLayersInUse } from '../settingsMap';

type Header = Omit<SelectionTrace, 'steps'>;

export function traceHeader(model: ModelSummary, decode: DecodeSettings, contextTokens: number): SelectionTrace {
  return {
    version: 1,
    model: model.name,
    mode: decode.mode,
    pageSize: model.pageSize,
    pageBudget: Math.max(1, Math.floor(decode.tokenBudget / model.pageSize)),
    layers: model.layers,
    kvHeads: model.kvHeads,
    // Absent from the request: the model's recommendation, else 2, as the engine resolves it.
    denseLayers: decode.mode === 'dense' ? model.layers : Math.min(denseLayersInUse(decode.denseLayers, model.recommendedDenseLayers), model.layers),
    contextTokens,
    promptTokens: [],
    steps: [],
  };
}

/** A step in the heatmap's shape: one page list per layer and KV head (see the file comment). */
export function webviewStep(step: TraceStep, header: Header): TraceStep {
  if (step.pages.length !== 0) return step; // already per layer (or malformed: the heatmap says so)
  const inContext = Math.floor(step.position / header.pageSize) + 1;
  const all = header.mode === 'dense' ? [] : Array.from({ length: inContext }, (_, p) => p);
  const pages = Array.from({ length: header.layers }, (_, l) =>
    Array.from({ length: header.kvHeads }, () => (l >= header.denseLayers ? all : [])),
  );
  return { ...step, pages };
}

/** A whole trace in the heatmap's shape: contextTokens no later than the first step, every step reshaped. */
export function webviewTrace(trace: SelectionTrace): SelectionTrace {
  const first = trace.steps[0]?.position;
  const header = { ...trace, contextTokens: first !== undefined ? Math.min(trace.contextTokens, first) : trace.contextTokens };
  return { ...header, steps: trace.steps.map((s) => webviewStep(s, header)) };
}

/** The trace of an answer that ended without the engine's final trace (cancelled, or the engine failed). */
export function traceWithSteps(header: SelectionTrace, steps: readonly TraceStep[]): SelectionTrace {
  return { ...header, steps: [...steps] };
}
