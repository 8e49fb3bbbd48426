// Errors of the workspace session (model, context, prefill, answer). Codes cross the process boundary as data
// (`request/didFail.code`); each message says what to do.
import { EngineError } from '../errors';

/** A request came before what it needs: an answer before a prefill, a prefill before a context, anything before a model. */
export class SessionOrderError extends EngineError {
  constructor(code: 'no-model' | 'no-context' | 'no-prefill', message: string) {
    super(code, message);
  }
}

/** The request was cancelled (request/cancel, or the CLI's Ctrl+C) before it finished. */
export class CancelledError extends EngineError {
  constructor(what: string) {
    super('cancelled', `${what} was cancelled`);
  }
}

/** The model file is missing or unreadable; the message names the path and what to do. */
export class ModelFileError extends EngineError {
  constructor(message: string) {
    super('model-file', message);
  }
}

/** True for an abort (AbortSignal.throwIfAborted's DOMException, or our CancelledError). */
export function isAbort(err: unknown): boolean {
  return err instanceof CancelledError || (err instanceof Error && err.name === 'AbortError');
}
