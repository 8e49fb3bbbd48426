// The JSON a bench run writes under bench/results/ (schema 1, gzip-compressed: bench/resultsFile.ts), which
// bench/report.ts turns into BENCHMARKS.md's tables. One file per run; a run's file is rewritten after each model so a
// run cut short keeps what it measured.
import type { CopyBandwidth } from './copyBandwidth';
import type { StepProfile } from './decodeProfile';
import type { MatvecLayoutTime } from './matvecSweep';
import type { QuestKernelTime } from './questSweep';
import type { ObserveRun } from './observeCost';
import type { PeerResult } from './peer/peerBench';
import type { PipelineResult } from './pipelineBench';
import type { RunProvenance } from './provenance';
import type { StepTraffic } from './traffic';

export interface DecodeRun {
  readonly mode: 'dense' | 'quest';
  /** Quest token budget (pageBudget × pageSize); absent for dense. */
  readonly budget?: number;
  readonly pageBudget?: number;
  /** Tokens in the cache when decoding starts. */
  readonly context: number;
  /** decodeSteps timed (wall clock, first yielded token to last). */
  readonly steps: number;
  /** End-of-generation tokens the run went on past (prefilled, then generation again); absent: none. */
  readonly restarts?: number;
  /** Median wall time between consecutive tokens (robust to the odd GC pause or scheduler hiccup). */
  readonly msPerToken: number;
  readonly meanMsPerToken: number;
  /** 1000 / msPerToken. */
  readonly tokensPerSecond: number;
  readonly traffic: StepTraffic;
  /** traffic.total at the copy bandwidth: the step's lower bound. */
  readonly limitUs: number;
  /** limitUs over the measured step time (wall clock), in percent. */
  readonly percentOfLimit: number;
  readonly profile?: StepProfile;
}

export interface ModelResult {
  readonly model: string;
  readonly shape: string;
  /** The synthetic plan's type, or a model file's matrix types by bytes, largest first (`Q8_0+Q4_0+Q6_K`). */
  readonly weightType: string;
  /** The model file measured, relative to the repository root (a file plan); absent: a synthetic model. */
  readonly file?: string;
  readonly parameters: number;
  readonly fileBytes: number;
  /** GPU bytes of the weights. */
  readonly weightBytes: number;
  readonly capacity: number;
  /** Time to write the synthetic model; absent for a model file. */
  readonly generateMs?: number;
  readonly loadMs: number;
  /**
   * The page size and Quest dense layers the engine used for this model: the run's settings for a synthetic model, a
   * model file's recommendation (GGUF questlens.page_size, questlens.dense_layers; else the defaults) for a file.
   * Absent in results before they were recorded per model: the run's settings.
   */
  readonly pageSize?: number;
  readonly denseLayers?: number;
  /** Real prefill (issue 3) or KV filled through kvAppend with random keys/values (long contexts). */
  readonly fill: 'prefill' | 'kvAppend';
  readonly context: number;
  readonly prefillMs?: number;
  readonly fillMs?: number;
  runs: readonly DecodeRun[];
  /** Decode speed without and with the attention count, the trace and its scores (observeCost.ts). */
  readonly observe?: readonly ObserveRun[];
  /** Every decode matvec layout timed on this model's weights (matvecSweep.ts), at its plan's first context. */
  readonly matvecLayouts?: readonly MatvecLayoutTime[];
  /** Quest's selection kernels at other settings than the engine's (questSweep.ts), at this context. */
  readonly questKernels?: readonly QuestKernelTime[];
}

/** Fields date, commit, dirty, command and device: RunProvenance. */
export interface BenchResult extends RunProvenance {
  readonly schema: 1;
  readonly suite: string;
  readonly runtime: { readonly node: string; readonly webgpu: string; readonly dawnFlags: readonly string[] };
  /** pageSize and denseLayers: the synthetic models' (a model's own are in its ModelResult). */
  readonly settings: {
    readonly pageSize: number;
    readonly kvType: string;
    readonly denseLayers: number;
    readonly aggregation: string;
    readonly decodeTokens: number;
    readonly profileReps: number;
  };
  readonly copy: CopyBandwidth;
  /** The copy measured again after every model (clocks and heat may differ at the end). */
  readonly copyAtEnd?: CopyBandwidth;
  /** The bandwidth limits are computed with: the larger kernel-copy figure (else copyBufferToBuffer), start or end. */
  readonly copyBytesPerSecond: number;
  readonly models: ModelResult[];
  /** llama.cpp on the same GGUFs and contexts as `models`, measured in this run (absent: not run). */
  readonly peers?: PeerResult[];
  /** The extension's pipeline on a workspace: time to the first answer token, cold, warm and after an edit. */
  readonly pipeline?: PipelineResult;
  readonly notes: string[];
}
