// The contract between the bench and its llama.cpp runner (bench/peer/llamaCppRunner.ts, a child process): what
// is asked for on stdin and what comes back on the `RESULT ` line. Type-only: the runner bundle imports nothing else.

export interface LlamaCppRequest {
  readonly model: string;
  /** llama.cpp backend: 'vulkan' on the GPU machine, false for the prebuilt CPU build (lavapipe machines, tests). */
  readonly gpu: 'vulkan' | false;
  /** Context sizes to measure, each in a fresh llama.cpp context of that size. */
  readonly contexts: readonly number[];
  /** Prompt length as a share of the context (peers.md §4: 0.95). */
  readonly promptFraction: number;
  /** Greedy tokens decoded after the prompt (peers.md §4: 128). */
  readonly decodeTokens: number;
  /** llama.cpp's n_batch = n_ubatch (node-llama-cpp's default 512). */
  readonly batchSize: number;
  /** Context of the untimed first run that compiles the Vulkan pipelines (the first prefill on a fresh machine is 2-3x slower). */
  readonly warmupContext: number;
  /** CPU threads; undefined: node-llama-cpp's default. Tests use 1 on a busy 2-core machine. */
  readonly threads?: number;
}

export interface LlamaCppContextRun {
  readonly context: number;
  /** What llama.cpp allocated (node-llama-cpp may pad it). */
  readonly contextSize: number;
  readonly promptTokens: number;
  /** llama.cpp's own timers (llama_perf_context: what llama-bench reports): batches of more than one token. */
  readonly prefillMs: number;
  readonly prefillTokens: number;
  readonly prefillTokensPerSecond: number;
  /** Wall clock from handing the prompt to node-llama-cpp to the first generated token. */
  readonly firstTokenWallMs: number;
  /** llama.cpp's own timers: single-token decodes. */
  readonly decodeMs: number;
  readonly decodeSteps: number;
  readonly decodeMsPerToken: number;
  readonly decodeTokensPerSecond: number;
  /** Wall clock between consecutive generated tokens: median (as the engine's figures) and mean. */
  readonly decodeWallMsPerToken: number;
  readonly decodeWallMeanMsPerToken: number;
}

export interface LlamaCppRun {
  readonly nodeLlamaCpp: string;
  /** llama.cpp release node-llama-cpp's binaries were built from. */
  readonly llamaCppRelease: string;
  /** The backend llama.cpp loaded ('vulkan', or false for CPU). */
  readonly gpu: string | false;
  readonly devices: readonly string[];
  readonly settings: {
    readonly flashAttention: true;
    readonly kvType: 'F16';
    readonly gpuLayers: 'max' | 0;
    readonly batchSize: number;
    readonly promptFraction: number;
    readonly decodeTokens: number;
    readonly threads?: number;
  };
  /** Layers llama.cpp put on the GPU (the output layer counts as one: 17 for Llama-3.2-1B). */
  readonly offloadedLayers: number;
  readonly loadMs: number;
  readonly warmupMs: number;
  readonly runs: readonly LlamaCppContextRun[];
}
