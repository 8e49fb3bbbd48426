// The one comparison every kernel test uses: |got - ref| <= atol + |ref| * rtol, element by element.
import { AssertionError } from 'node:assert';

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** Throws an AssertionError listing the first mismatches (at most 10 checked in detail) and the worst error. */
export function expectMatches(name: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): void {
  if (got.length !== ref.length) {
    throw new AssertionError({ message: `${name}: shape mismatch, got ${got.length} values, reference has ${ref.length}` });
  }
  const bad: string[] = [];
  let mismatches = 0;
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(got[i] - ref[i]);
    const allowed = tol.atol + Math.abs(ref[i]) * tol.rtol;
    // NaN compares false, so it is caught here too.
    if (!(err <= allowed)) {
      mismatches++;
      if (bad.length < 5) bad.push(`  [${i}] got ${got[i]}, ref ${ref[i]}, |Δ| ${err.toExponential(2)} > ${allowed.toExponential(2)}`);
      if (mismatches >= 10) break;
    }
    if (err > worst || Number.isNaN(err)) {
      worst = err;
      worstAt = i;
    }
  }
  if (mismatches > 0) {
    throw new AssertionError({
      message:
        `${name}: ${mismatches}${mismatches >= 10 ? '+' : ''} of ${ref.length} values outside atol ${tol.atol} + rtol ${tol.rtol}\n` +
        `${bad.join('\n')}\n  worst so far |Δ| ${worst} at [${worstAt}]`,
    });
  }
}
