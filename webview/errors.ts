// Errors the webview raises on purpose. Each message names the thing and the problem; `code` crosses to the host.
import type { ErrorData } from './protocol';

/** Base of every error the webview throws on purpose. */
export class WebviewError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A selection trace or context manifest does not have the shape the heatmap needs; the message restates the check. */
export class TraceShapeError extends WebviewError {
  constructor(message: string) {
    super('trace-shape', message);
  }
}

/** The page was loaded without its initial data (`<meta id="quest-lens-data" data-initial>`), or it is not JSON. */
export class MissingDataError extends WebviewError {
  constructor(message: string) {
    super('missing-data', message);
  }
}

/** Fails with a TraceShapeError unless `ok`; `message` restates the check with the actual values. */
export function checkTrace(ok: boolean, message: string): asserts ok {
  if (!ok) throw new TraceShapeError(message);
}

/** Any thrown value as protocol data. */
export function toErrorData(err: unknown): ErrorData {
  if (err instanceof WebviewError) return { kind: 'error', code: err.code, message: err.message };
  const message = err instanceof Error ? `${err.message}${err.stack ? `\n${err.stack}` : ''}` : String(err);
  return { kind: 'error', code: 'internal', message };
}
