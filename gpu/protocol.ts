// The one contract between the extension host and the engine process (`quest-lens serve`), both directions.
// Messages travel over Node's IPC channel with advanced serialization, so typed arrays cross as they are.
// Requests carry an `id`; every request gets exactly one final reply with that id (`done: true`), after any number
// of stream chunks (`done: false`). Errors cross as data: `{ type: 'request/didFail', code, message }`.
import type { AdapterSummary } from './device';

export type ToEngine =
  | { readonly type: 'gpu/describe'; readonly id: number }
  | { readonly type: 'request/cancel'; readonly id: number; readonly target: number }
  | { readonly type: 'engine/shutdown'; readonly id: number };

export type FromEngine =
  | { readonly type: 'engine/didStart'; readonly pid: number }
  | { readonly type: 'gpu/didDescribe'; readonly id: number; readonly done: true; readonly adapter: AdapterSummary }
  | { readonly type: 'request/didFail'; readonly id: number; readonly done: true; readonly code: string; readonly message: string }
  | { readonly type: 'engine/didShutdown'; readonly id: number; readonly done: true }
  | { readonly type: 'engine/didLog'; readonly level: 'info' | 'warn' | 'error'; readonly message: string };

/** The final reply a request of type T gets when it succeeds. */
export type ReplyTo<T extends ToEngine['type']> = T extends 'gpu/describe'
  ? Extract<FromEngine, { type: 'gpu/didDescribe' }>
  : T extends 'engine/shutdown'
    ? Extract<FromEngine, { type: 'engine/didShutdown' }>
    : never;
