// `quest-lens serve`: the engine process the extension starts. It owns the GPU; the extension host never loads Dawn.
// A native crash or a hung driver here cannot take the editor down: the extension sees this process exit and
// restarts it.
//
// Requests run one at a time, in arrival order (the protocol's rule). `request/cancel` aborts the running request
// through its AbortSignal (checked between prefill runs and at every decodeStep) or drops a queued one; it gets no
// reply of its own. Progress chunks are throttled to about ten a second; answer tokens are not.
//
// A lost GPU device (driver reset, GPU removed) is rebuilt in place: the running request fails with 'device-lost',
// the model and KV cache that lived on the device are dropped, a new device is opened and announced
// (`gpu/didRecover`), and queued requests go on; the next model/load loads the model again and the persisted KV
// cache spares the prefill. Should the running request not end within DEVICE_LOST_GRACE_MS, the process exits and
// the extension starts a fresh one.
// Fault injection (test/reliability): with QUEST_LENS_FAULTS=device-loss in the environment, SIGUSR2 destroys the
// device behind the engine's back, as a driver reset would lose it.
import { ContextError } from '../extension/context/errors';
import { type Gpu, openGpu } from './device';
import { DeviceLostError, EngineError } from './errors';
import type { FromEngine, ToEngine } from './protocol';
import { isAbort } from './session/errors';
import { WorkspaceSession } from './session/workspaceSession';

/** Least time between two progress chunks of one request. */
const PROGRESS_INTERVAL_MS = 100;
/** How long the request running when the device was lost may take to end (its GPU work fails fast) before exiting. */
const DEVICE_LOST_GRACE_MS = 5000;

export async function serve(): Promise<number> {
  if (!process.send) {
    console.error('quest-lens serve: must be started by the extension with an IPC channel (child_process.fork)');
    return 2;
  }
  const send = (m: FromEngine) => process.send!(m);
  const log = (level: 'info' | 'warn' | 'error', message: string) => send({ type: 'engine/didLog', level, message });
  let gpu: Promise<Gpu> | undefined;
  const openOnce = () => {
    if (!gpu) {
      const opening = openGpu({ onUncapturedError: (m) => log('error', m) });
      gpu = opening;
      opening.then(
        (g) => g.lost.catch((e: DeviceLostError) => void recover(g, e)),
        () => {
          if (gpu === opening) gpu = undefined; // no adapter: the next request tries again (and reports the same error)
        },
      );
    }
    return gpu;
  };
  const session = new WorkspaceSession(openOnce, { log });
  /** Requests already failed by a device loss: their own late reply is not sent. */
  const answered = new Set<number>();
  /** True while a lost device is being replaced: no request starts meanwhile. */
  let recovering = false;

  const recover = async (lostGpu: Gpu, e: DeviceLostError) => {
    log('warn', `${e.message}; opening a new GPU device`);
    gpu = undefined;
    recovering = true;
    try {
      const r = running;
      if (r) {
        answered.add(r.id);
        send(failure(r.id, new DeviceLostError(e.reason, e.detail, 'The engine is opening a new device: ask again')));
        const ended = await Promise.race([r.done.then(() => true), new Promise<boolean>((ok) => setTimeout(() => ok(false), DEVICE_LOST_GRACE_MS))]);
        if (!ended) {
          log('error', `the request running when the GPU device was lost did not end within ${DEVICE_LOST_GRACE_MS / 1000} s; exiting so that a fresh engine process starts`);
          process.exit(3);
        }
      }
      // Everything on the lost device (weights, KV cache, pipelines) goes with it.
      session.dispose();
      lostGpu.dispose();
      try {
        const fresh = await openOnce();
        send({ type: 'gpu/didRecover', reason: e.reason, message: e.message, adapter: fresh.summary });
        log('info', `opened a new GPU device on ${fresh.summary.description} after the loss`);
      } catch (err) {
        log('error', `could not open a new GPU device after the loss: ${(err as Error).message}`); // the next request tries again
      }
    } finally {
      recovering = false;
      pump();
    }
  };
  if (process.env.QUEST_LENS_FAULTS === 'device-loss') {
    process.on('SIGUSR2', () => void gpu?.then((g) => g.device.destroy()));
  }

  const handle = async (m: Exclude<ToEngine, { type: 'request/cancel' | 'engine/shutdown' }>, signal: AbortSignal): Promise<FromEngine> => {
    const progress = throttled(send);
    switch (m.type) {
      case 'gpu/describe':
        return { type: 'gpu/didDescribe', id: m.id, done: true, adapter: (await openOnce()).summary };
      case 'model/load': {
        const model = await session.loadModel(
          { path: m.path, maxContext: m.maxContext, pageSize: m.pageSize },
          { signal, onProgress: (p) => progress({ type: 'model/didProgress', id: m.id, done: false, ...p }) },
        );
        return { type: 'model/didLoad', id: m.id, done: true, model };
      }
      case 'context/build': {
        const built = await session.buildContext(
          {
            folders: m.folders,
            reader: m.reader,
            question: m.question,
            ...(m.openFile ? { openFile: m.openFile } : {}),
            ...(m.kvCacheDir !== undefined ? { kvCacheDir: m.kvCacheDir } : {}),
          },
          { signal, onProgress: (p) => progress({ type: 'context/didProgress', id: m.id, done: false, ...p }) },
        );
        return { type: 'context/didBuild', id: m.id, done: true, manifest: built.manifest, skipped: built.skipped };
      }
      case 'context/prefill': {
        const r = await session.prefill({
          signal,
          onProgress: (p) => progress({ type: 'context/didPrefillProgress', id: m.id, done: false, ...p }),
        });
        return { type: 'context/didPrefill', id: m.id, done: true, tokens: r.tokens, reused: r.reused, source: r.source, ms: r.ms };
      }
      case 'answer/generate': {
        const r = await session.answer(
          { question: m.question, ...(m.selection !== undefined ? { selection: m.selection } : {}), decode: m.decode },
          { signal, onToken: (text, step) => send({ type: 'answer/didAppendToken', id: m.id, done: false, text, step }) },
        );
        return {
          type: 'answer/didFinish',
          id: m.id,
          done: true,
          reason: r.reason,
          answer: r.answer,
          citations: r.citations,
          trace: r.trace,
          decodeTokensPerSecond: r.decodeTokensPerSecond,
        };
      }
      case 'context/clear':
        session.clear();
        return { type: 'context/didClear', id: m.id, done: true };
    }
  };

  // One request at a time: `queue` waits, `running` runs.
  type Queued = Exclude<ToEngine, { type: 'request/cancel' | 'engine/shutdown' }>;
  const queue: Queued[] = [];
  let running: { id: number; controller: AbortController; done: Promise<void> } | undefined;
  const pump = () => {
    if (running || recovering || queue.length === 0) return;
    const m = queue.shift()!;
    const controller = new AbortController();
    const reply = (r: FromEngine) => {
      if (!answered.delete(m.id)) send(r);
    };
    const done = handle(m, controller.signal).then(reply, (err: unknown) => reply(failure(m.id, err)));
    running = { id: m.id, controller, done };
    void done.finally(() => {
      running = undefined;
      pump();
    });
  };

  process.on('message', (m: ToEngine) => {
    switch (m.type) {
      case 'request/cancel': {
        if (running?.id === m.target) running.controller.abort();
        const i = queue.findIndex((q) => q.id === m.target);
        if (i >= 0) send(failure(queue.splice(i, 1)[0].id, new DOMException('cancelled before it started', 'AbortError')));
        return; // a late cancel (the target already finished) is not an error
      }
      case 'engine/shutdown':
        void shutdown(m.id);
        return;
      default:
        queue.push(m);
        pump();
    }
  });

  const shutdown = async (id: number) => {
    for (const q of queue.splice(0)) send(failure(q.id, new DOMException('the engine is shutting down', 'AbortError')));
    if (running) {
      running.controller.abort();
      // A request stops at its next check; a hung GPU may never get there.
      await Promise.race([running.done, new Promise((r) => setTimeout(r, 2000))]);
    }
    session.dispose();
    if (gpu) (await gpu.catch(() => undefined))?.dispose();
    send({ type: 'engine/didShutdown', id, done: true });
    process.exit(0);
  };

  // The extension host went away: nothing is left to serve.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'engine/didStart', pid: process.pid });
  return new Promise<number>(() => {}); // runs until shutdown or disconnect
}

/** The `request/didFail` for `err`: deliberate errors keep their code, an abort is 'cancelled', the rest 'internal'. */
function failure(id: number, err: unknown): FromEngine {
  const code = isAbort(err)
    ? 'cancelled'
    : err instanceof EngineError
      ? err.code
      : err instanceof ContextError
        ? `context-${err.code}`
        : 'internal';
  const message = err instanceof Error ? err.message : String(err);
  return { type: 'request/didFail', id, done: true, code, message };
}

/** A sender for one request's progress chunks that drops chunks closer than PROGRESS_INTERVAL_MS to the last one sent. */
function throttled(send: (m: FromEngine) => void): (m: FromEngine) => void {
  let last = -Infinity;
  return (m) => {
    const now = performance.now();
    if (now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    send(m);
  };
}
