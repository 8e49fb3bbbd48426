// float64 reference of RoPE (tests only): the angle is position * invFreq in float64, reduced by Math.cos/Math.sin.
import type { RopeStyle } from '../model/rope';

export interface RopeRefShape {
  readonly tokens: number;
  readonly heads: number;
  readonly headDim: number;
  readonly dims: number;
  readonly style: RopeStyle;
  readonly pos0: number;
  readonly tokenStride?: number;
  readonly offset?: number;
}

/** x: (tokens, tokenStride) with head h at offset + h*headDim -> a rotated copy; invFreq: (dims/2) rad per position. */
export function ropeRef(x: ArrayLike<number>, invFreq: ArrayLike<number>, s: RopeRefShape): Float64Array {
  const out = Float64Array.from(x);
  const stride = s.tokenStride ?? s.heads * s.headDim;
  const half = s.dims / 2;
  for (let t = 0; t < s.tokens; t++) {
    for (let h = 0; h < s.heads; h++) {
      const base = (s.offset ?? 0) + t * stride + h * s.headDim;
      for (let i = 0; i < half; i++) {
        const theta = (s.pos0 + t) * invFreq[i];
        const [a, b] = s.style === 'neox' ? [base + i, base + i + half] : [base + 2 * i, base + 2 * i + 1];
        const x0 = x[a];
        const x1 = x[b];
        out[a] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
        out[b] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
      }
    }
  }
  return out;
}
