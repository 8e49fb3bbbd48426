// 95% intervals for the targets table: how far a measured share or gap could be from the true one with this many
// questions. A share uses Wilson's score interval (sound near 0 and 1 and for few questions); a gap between two
// configurations answering the same questions uses the paired per-question differences (each -1, 0 or +1), whose
// mean is the gap, with a normal interval of 1.96 standard errors.

const z = 1.96;

/** Wilson's 95% score interval [low, high] of `k` successes in `n` trials (n = 0: [0, 1]). */
export function wilson(k: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = ((z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n)));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * The mean of a[i] − b[i] over paired outcomes (true = right) and its 95% interval; fewer than two pairs: the
 * interval is the whole range [-1, 1].
 */
export function pairedGap(a: readonly boolean[], b: readonly boolean[]): { gap: number; low: number; high: number } {
  if (a.length !== b.length) throw new Error(`pairedGap: ${a.length} outcomes against ${b.length}`);
  const n = a.length;
  const d = a.map((x, i) => Number(x) - Number(b[i]));
  const gap = n > 0 ? d.reduce((s, x) => s + x, 0) / n : 0;
  if (n < 2) return { gap, low: -1, high: 1 };
  const variance = d.reduce((s, x) => s + (x - gap) ** 2, 0) / (n - 1);
  const half = z * Math.sqrt(variance / n);
  return { gap, low: gap - half, high: gap + half };
}
