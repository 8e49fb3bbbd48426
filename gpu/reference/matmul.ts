// float64 references of matmul and embedding lookup (tests only). Weights come in as their exact dequantized
// values (gpu/quant/codec.ts dequantizeRows), so the reference is exactly what ggml means by the bytes.
import { rmsNormRef } from './rmsnorm';

/** w: (rows, cols), x: (tokens, cols) -> (tokens, rows): Y = X·Wᵀ; added to `y0` (tokens, rows) when given. */
export function matmulRef(w: ArrayLike<number>, x: ArrayLike<number>, rows: number, cols: number, tokens: number, y0?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(tokens * rows);
  for (let m = 0; m < tokens; m++) {
    for (let n = 0; n < rows; n++) {
      let s = y0 ? y0[m * rows + n] : 0;
      for (let k = 0; k < cols; k++) s += w[n * cols + k] * x[m * cols + k];
      y[m * rows + n] = s;
    }
  }
  return y;
}

/**
 * A decode matvec with its RMSNorm fused (matmul with `norm`): w: (rows, cols), x: (cols), norm: (cols) ->
 * (rows): y = W·rmsnorm(x), the norm first, as the separate ops compute it.
 */
export function rmsNormMatvecRef(w: ArrayLike<number>, x: ArrayLike<number>, norm: ArrayLike<number>, rows: number, cols: number, eps: number): Float64Array {
  return matmulRef(w, rmsNormRef(x, norm, 1, cols, eps), rows, cols, 1);
}

/** The largest sum over k of |w[n, k] x[m, k]|: the scale of the rounding error any f32 dot product of a row may carry. */
export function matmulAbsScale(w: ArrayLike<number>, x: ArrayLike<number>, rows: number, cols: number, tokens: number): number {
  let max = 0;
  for (let m = 0; m < tokens; m++) {
    for (let n = 0; n < rows; n++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += Math.abs(w[n * cols + k] * x[m * cols + k]);
      max = Math.max(max, s);
    }
  }
  return max;
}

/** table: (rows, cols), ids: (tokens) -> (tokens, cols); ids at or past `rows` give rows of NaN. */
export function embedRef(table: ArrayLike<number>, ids: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(ids.length * cols);
  for (let t = 0; t < ids.length; t++) {
    for (let k = 0; k < cols; k++) out[t * cols + k] = ids[t] < rows ? table[ids[t] * cols + k] : NaN;
  }
  return out;
}
