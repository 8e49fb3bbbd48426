// A quick estimate of the workspace's size in tokens, for the status bar before a model is loaded. The model's own
// tokenizer runs in the engine process; here gpt-tokenizer (p50k_base, the default model's vocabulary) counts a
// sample of files, and the sample's tokens per byte scale the other files' sizes. Pure: the caller lists files and
// reads the sample (workspaceSize.ts); unit-tested in extensionTokenEstimate.test.ts.

/** Files whose extension says they are not text: left out of the estimate, as the reader skips them. */
const BINARY_EXTENSIONS = new Set(
  (
    'png jpg jpeg gif bmp ico icns webp avif tif tiff psd svgz mp3 mp4 m4a wav ogg flac webm mov avi mkv ' +
    'zip gz tgz bz2 xz 7z rar zst jar war ear whl egg nupkg vsix ' +
    'pdf doc docx xls xlsx ppt pptx odt ' +
    'woff woff2 ttf otf eot ' +
    'exe dll so dylib a lib o obj class pyc pyo wasm node bin dat db sqlite sqlite3 gguf safetensors pt pth onnx npy npz pkl'
  ).split(' '),
);

export function looksBinaryByName(path: string): boolean {
  const dot = path.lastIndexOf('.');
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  if (dot <= slash + 1) return false; // no extension, or a dotfile
  return BINARY_EXTENSIONS.has(path.slice(dot + 1).toLowerCase());
}

/** Tokens per byte assumed when no sample could be counted (source code is about 0.25–0.35). */
export const FALLBACK_TOKENS_PER_BYTE = 0.3;

export interface SampledFile {
  readonly bytes: number;
  readonly tokens: number;
}

export interface TokenEstimate {
  readonly tokens: number;
  /** Files counted in the estimate (text files within the size limit). */
  readonly files: number;
  /** Files whose tokens were counted rather than scaled. */
  readonly sampled: number;
  readonly tokensPerByte: number;
  /** True when the file listing was cut at its limit, so the workspace is larger still. */
  readonly truncated: boolean;
}

/**
 * `sizes`: byte sizes of the files that would be read (binary names and files over the size limit already left out).
 * `sample`: counted files among them. Counted files contribute their counts, the rest their size times the
 * sample's tokens per byte.
 */
export function estimateTokens(sizes: readonly number[], sample: readonly SampledFile[], truncated: boolean): TokenEstimate {
  const sampleBytes = sample.reduce((s, f) => s + f.bytes, 0);
  const sampleTokens = sample.reduce((s, f) => s + f.tokens, 0);
  const tokensPerByte = sampleBytes > 0 ? sampleTokens / sampleBytes : FALLBACK_TOKENS_PER_BYTE;
  const totalBytes = sizes.reduce((s, b) => s + b, 0);
  const tokens = Math.round(sampleTokens + Math.max(0, totalBytes - sampleBytes) * tokensPerByte);
  return { tokens, files: sizes.length, sampled: sample.length, tokensPerByte, truncated };
}

/** Indices of up to `count` files spread evenly over the list (deterministic, so the estimate does not flicker). */
export function sampleIndices(length: number, count: number): number[] {
  if (length <= count) return Array.from({ length }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(Math.floor(((i + 0.5) * length) / count));
  return out;
}
