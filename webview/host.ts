// The page's side of the boundary: a typed sender and view-state storage through acquireVsCodeApi(), or, in a
// standalone file written by the CLI (no VS Code), a read-only stand-in that sends nothing.
import type { FromWebview, MessageBody } from './protocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  /** Defined by VS Code in webviews; callable once. Absent in a standalone file. */
  // eslint-disable-next-line no-var
  var acquireVsCodeApi: (() => VsCodeApi) | undefined;
}

export interface Host {
  /** False in a standalone file: nothing can be opened, asked or stopped. */
  readonly interactive: boolean;
  post<T extends FromWebview['type']>(type: T, body: MessageBody<FromWebview, T>): void;
  /** View state saved by `setState` (survives hiding the view and reloading the window). */
  getState(): unknown;
  setState(state: unknown): void;
}

export function connectHost(standalone: boolean): Host {
  const acquire = globalThis.acquireVsCodeApi;
  if (standalone || typeof acquire !== 'function') {
    return {
      interactive: false,
      post: () => {},
      getState: () => undefined,
      setState: () => {},
    };
  }
  const api = acquire();
  return {
    interactive: true,
    post: (type, body) => api.postMessage({ type, ...body }),
    getState: () => api.getState(),
    setState: (state) => api.setState(state),
  };
}
