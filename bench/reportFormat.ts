// Markdown pieces shared by the generated tables of BENCHMARKS.md (bench/report.ts and its sections).
export const table = (h: readonly string[]) => `| ${h.join(' | ')} |\n|${h.map(() => ' --- ').join('|')}|`;
export const row = (cells: readonly (string | number)[]) => `| ${cells.join(' | ')} |`;
export const gbs = (bps: number) => (bps / 1e9).toFixed(0);
export const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
export const f1 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
/** A ratio as `1.23×`, or '-' when either side is missing. */
export const times = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : `${(a / b).toFixed(2)}×`);
/** Seconds from ms, two decimals. */
export const sec = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));
