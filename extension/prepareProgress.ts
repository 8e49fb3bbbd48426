// One progress report for preparing a context: the model load, the reader's walk and its two passes, and the
// prefill each get a message and a fixed slice of one bar, in that order, so the bar only moves forward (a step's
// own count restarting, as each reader pass counts files from zero, never moves it back) and ends at 100% when the
// prefill does. Pure (unit-tested in extensionProgress.test.ts); ProgressNotification shows it.
import type { PrepareProgress } from './engineSession';
import { formatBytes, percentDone, prefillProgressText } from './format';

/** Each step's slice of the bar, in percent: [start, end). The walk's total is not known: it holds the bar still. */
const SLICES = {
  load: [0, 10],
  walk: [10, 10],
  read: [10, 30],
  tokenize: [30, 50],
  prefill: [50, 100],
} as const;

export interface ProgressLine {
  readonly message: string;
  /** Of the whole preparation, 0..100. */
  readonly percent: number;
}

/** The notification's line and the bar's position for one progress report. */
export function prepareProgressLine(p: PrepareProgress): ProgressLine {
  switch (p.phase) {
    case 'load':
      return { message: `Loading the model: ${percentDone(p.bytesDone, p.bytes)}% of ${formatBytes(p.bytes)}`, percent: within('load', p.bytesDone, p.bytes) };
    case 'tokenize': {
      const files = count(p.files);
      const message =
        p.stage === 'walk'
          ? `Finding files: ${files} found`
          : p.stage === 'read'
            ? `Reading ${files} of ${count(p.total)} files`
            : `Tokenizing ${files} of ${count(p.total)} files: ${count(p.tokens)} tokens`;
      return { message, percent: within(p.stage, p.files, p.total) };
    }
    case 'prefill':
      return { message: `Prefill: ${prefillProgressText(p)}`, percent: within('prefill', p.tokensDone, p.tokens) };
  }
}

/** The increments vscode.Progress adds up: never backwards, and together the largest percent reported. */
export class ProgressIncrements {
  private shown = 0;

  /** The increment that brings the bar to `percent`; undefined when it is there or past it already. */
  next(percent: number): number | undefined {
    const to = Math.min(100, percent);
    if (!(to > this.shown)) return undefined;
    const increment = to - this.shown;
    this.shown = to;
    return increment;
  }
}

function within(step: keyof typeof SLICES, done: number, total: number): number {
  const [start, end] = SLICES[step];
  return start + ((end - start) * percentDone(done, total)) / 100;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}
