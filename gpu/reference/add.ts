// float64 references of the residual add and the bias add (tests only).

/** x + y, element by element. */
export function addRef(x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => v + y[i]);
}

/** x: (tokens, n), bias: (n) -> x[t, j] + bias[j]. */
export function biasRef(x: ArrayLike<number>, bias: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => v + bias[i % bias.length]);
}
