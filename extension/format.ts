// Numbers as the status bar, notifications and the log show them. Pure (unit-tested in extensionFormat.test.ts).

/** 950 → "950", 12_345 → "12.3K", 1_234_567 → "1.23M". */
export function formatTokens(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const a = Math.abs(n);
  if (a < 1000) return String(Math.round(n));
  if (a < 1e6) return `${trim((n / 1e3).toFixed(a < 1e4 ? 2 : a < 1e5 ? 1 : 0))}K`;
  return `${trim((n / 1e6).toFixed(a < 1e7 ? 2 : a < 1e8 ? 1 : 0))}M`;
}

/** Binary units, as GPU memory is counted: 1536 → "1.5 KiB", 12 * 2**20 → "12 MiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? String(Math.round(v)) : trim(v.toFixed(Math.abs(v) < 10 ? 1 : 0))} ${units[u]}`;
}

/** 8 → "8 s", 125 → "2 min 5 s", 7300 → "2 h 2 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  const m = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)} h${m ? ` ${m} min` : ''}`;
}

export interface PrefillProgress {
  readonly tokensDone: number;
  readonly tokens: number;
  readonly tokensPerSecond: number;
}

/** Whole percent done, 0..100 (0 for an empty prefill). */
export function percentDone(done: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.min(100, Math.max(0, Math.floor((100 * done) / total)));
}

/** The prefill notification's line: "42% · 1,234 tokens/s · about 12 s left". */
export function prefillProgressText(p: PrefillProgress): string {
  const parts = [`${percentDone(p.tokensDone, p.tokens)}% of ${formatTokens(p.tokens)} tokens`];
  if (p.tokensPerSecond > 0) {
    parts.push(`${formatRate(p.tokensPerSecond)} tokens/s`);
    const left = (p.tokens - p.tokensDone) / p.tokensPerSecond;
    if (p.tokensDone < p.tokens) parts.push(`about ${formatDuration(left)} left`);
  }
  return parts.join(' · ');
}

/** 1234.5 → "1,235", 12.34 → "12.3", 0.42 → "0.42". */
export function formatRate(perSecond: number): string {
  if (perSecond >= 100) return Math.round(perSecond).toLocaleString('en-US');
  if (perSecond >= 10) return perSecond.toFixed(1);
  return perSecond.toFixed(2);
}

function trim(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
