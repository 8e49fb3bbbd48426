// float64 reference of RMSNorm (tests only).

/** x: (rows, dim), weight: (dim) -> (rows, dim). */
export function rmsNormRef(x: ArrayLike<number>, weight: ArrayLike<number>, rows: number, dim: number, eps: number): Float64Array {
  const out = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let i = 0; i < dim; i++) ss += x[r * dim + i] ** 2;
    const scale = 1 / Math.sqrt(ss / dim + eps);
    for (let i = 0; i < dim; i++) out[r * dim + i] = x[r * dim + i] * scale * weight[i];
  }
  return out;
}
