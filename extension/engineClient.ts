// Starts the engine process lazily, speaks the typed protocol (gpu/protocol.ts) to it, and restarts it after a
// crash. The extension host never loads Dawn: a native crash or a hung GPU can only take down the child. A lost GPU
// device the engine replaces itself, and says so (onDidRecoverDevice).
// Streams: a request's `{done: false}` chunks go to its onChunk; an AbortSignal becomes `request/cancel`. A hang is
// what the host can see of one: a cancel the engine does not honour within CANCEL_GRACE_MS (the process is killed
// and the next request starts a fresh one), or no message at all for QUIET_MS while requests wait (the user is told
// and can restart it; a long silent GPU step on a slow adapter is legitimate, so it is not killed unasked).
import { type ChildProcess, fork } from 'node:child_process';
import type { ChunkOf, FromEngine, ReplyTo, ToEngine } from '../gpu/protocol';
import { Disposable } from './disposable';

/** How long a cancelled request may take to end before the engine process counts as hung and is killed. */
export const CANCEL_GRACE_MS = 15_000;
/** How long a request whose message could not be written waits for the process's exit (and its reason). */
const SEND_FAILURE_GRACE_MS = 1000;
/** How long the engine may stay silent while requests wait before the user is asked whether to restart it. */
export const QUIET_MS = 5 * 60_000;

/** The engine process died or could not start; the next request starts a fresh one. */
export class EngineExitedError extends Error {
  constructor(readonly detail: string) {
    super(`The Quest Lens engine process stopped (${detail}). It will be restarted on the next request.`);
  }
}

/** The engine answered a request with an error (`request/didFail`). */
export class EngineRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The engine's notice that it replaced a lost GPU device (gpu/protocol.ts). */
export type DeviceRecovered = Extract<FromEngine, { type: 'gpu/didRecover' }>;

type Pending = {
  readonly type: string;
  resolve: (m: FromEngine) => void;
  reject: (e: Error) => void;
  onChunk?: (m: FromEngine) => void;
  cancelTimer?: NodeJS.Timeout;
};
type Request = ToEngine extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export interface RequestOptions<T extends ToEngine['type']> {
  /** Each `{done: false}` chunk of this request, in order. */
  readonly onChunk?: (chunk: ChunkOf<T>) => void;
  /** Aborting sends `request/cancel`; the request then rejects with EngineRequestError code 'cancelled'. */
  readonly signal?: AbortSignal;
}

export interface EngineLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export class EngineClient extends Disposable {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly exitListeners = new Set<(error: EngineExitedError) => void>();
  private readonly recoverListeners = new Set<(recovered: DeviceRecovered) => void>();
  private lastHeard = Date.now();
  private quietWarned = false;
  private readonly watch: NodeJS.Timeout;

  constructor(
    /** Absolute path of dist/cli.js. */
    private readonly cliPath: string,
    private readonly log: EngineLog,
    private readonly onExit: (error: EngineExitedError) => void,
    /** The engine has been silent for `ms` while requests wait (once per silent stretch). */
    private readonly onQuiet: (ms: number) => void = () => {},
    private readonly quietMs = QUIET_MS,
  ) {
    super();
    this.watch = setInterval(() => this.checkQuiet(), Math.min(10_000, quietMs / 4));
    this.watch.unref();
  }

  /**
   * Sends `message` and resolves with its final reply; rejects with EngineRequestError (the engine's
   * `request/didFail`, code 'cancelled' after an abort) or EngineExitedError.
   */
  request<M extends Request>(message: M, options: RequestOptions<M['type']> = {}): Promise<ReplyTo<M['type']>> {
    const { signal, onChunk } = options;
    if (signal?.aborted) return Promise.reject(new EngineRequestError('cancelled', `${message.type} was cancelled before it was sent`));
    const child = this.start();
    const id = this.nextId++;
    if (this.pending.size === 0) this.heard();
    return new Promise<ReplyTo<M['type']>>((resolve, reject) => {
      const onAbort = () => this.cancel(id);
      const settle = () => {
        signal?.removeEventListener('abort', onAbort);
        const p = this.pending.get(id);
        if (p?.cancelTimer) clearTimeout(p.cancelTimer);
        this.pending.delete(id);
      };
      this.pending.set(id, {
        type: message.type,
        resolve: (reply) => {
          settle();
          resolve(reply as ReplyTo<M['type']>);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
        ...(onChunk ? { onChunk: onChunk as (m: FromEngine) => void } : {}),
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      child.send({ ...message, id }, (err) => {
        if (!err) return;
        // A write to a dying process fails before its exit is heard; the exit names the cause (a signal, a crash),
        // the write error only the symptom: the request fails with the write error only if no exit comes.
        setTimeout(() => this.pending.get(id)?.reject(new EngineExitedError(`could not send ${message.type}: ${err.message}`)), SEND_FAILURE_GRACE_MS).unref();
      });
    });
  }

  /** Calls `listener` whenever the engine process stops unexpectedly (after the onExit of the constructor). */
  onDidExit(listener: (error: EngineExitedError) => void): { dispose(): void } {
    this.exitListeners.add(listener);
    return { dispose: () => this.exitListeners.delete(listener) };
  }

  /**
   * Calls `listener` when the engine lost its GPU device and opened a new one: the model it had loaded is gone (the
   * next model/load loads it again); the request that was running failed with code 'device-lost'.
   */
  onDidRecoverDevice(listener: (recovered: DeviceRecovered) => void): { dispose(): void } {
    this.recoverListeners.add(listener);
    return { dispose: () => this.recoverListeners.delete(listener) };
  }

  /** Kills the engine process now (a hang the user saw); waiting requests fail, the next one starts a fresh process. */
  restart(reason: string): void {
    const child = this.child;
    if (!child) return;
    this.log.warn(`stopping the engine process ${child.pid}: ${reason}`);
    this.exited(child, reason);
    child.kill('SIGKILL');
  }

  /** Requests waiting for their final reply. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** The engine process's pid while one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  override dispose(): void {
    const child = this.child;
    this.child = undefined;
    if (child && child.connected) {
      child.send({ type: 'engine/shutdown', id: 0 } satisfies ToEngine);
      // A hung GPU may never let it exit on its own.
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    }
    clearInterval(this.watch);
    this.failAll(new EngineExitedError('the extension was deactivated'));
    super.dispose();
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    this.log.info(`starting engine: ${this.cliPath} serve`);
    const child = fork(this.cliPath, ['serve'], {
      serialization: 'advanced',
      // In desktop VS Code process.execPath is Electron; this makes it behave as plain Node.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.log.info(`[engine] ${d.toString().trimEnd()}`));
    child.stderr?.on('data', (d: Buffer) => this.log.warn(`[engine] ${d.toString().trimEnd()}`));
    child.on('message', (m: FromEngine) => this.receive(m));
    child.on('error', (err) => this.exited(child, `could not start: ${err.message}`));
    child.on('exit', (code, signal) => this.exited(child, signal ? `killed by ${signal}` : `exit code ${code}`));
    return child;
  }

  private cancel(id: number): void {
    const p = this.pending.get(id);
    const child = this.child;
    if (!p || !child || p.cancelTimer) return;
    this.log.info(`cancelling ${p.type} (request ${id})`);
    child.send({ type: 'request/cancel', id: this.nextId++, target: id } satisfies ToEngine, () => {});
    p.cancelTimer = setTimeout(() => {
      if (this.child === child && this.pending.has(id)) {
        this.restart(`it did not stop ${p.type} within ${CANCEL_GRACE_MS / 1000} s of a cancel (hung)`);
      }
    }, CANCEL_GRACE_MS);
    p.cancelTimer.unref();
  }

  private heard(): void {
    this.lastHeard = Date.now();
    this.quietWarned = false;
  }

  private checkQuiet(): void {
    if (!this.child || this.pending.size === 0 || this.quietWarned) return;
    const quiet = Date.now() - this.lastHeard;
    if (quiet < this.quietMs) return;
    this.quietWarned = true;
    const waiting = [...this.pending.values()].map((p) => p.type).join(', ');
    this.log.warn(`the engine process has sent nothing for ${Math.round(quiet / 1000)} s while ${waiting} waits`);
    this.onQuiet(quiet);
  }

  private receive(m: FromEngine): void {
    this.heard();
    switch (m.type) {
      case 'engine/didStart':
        this.log.info(`engine started, pid ${m.pid}`);
        return;
      case 'engine/didLog':
        this.log[m.level](`[engine] ${m.message}`);
        return;
      case 'gpu/didRecover':
        this.log.warn(`the engine lost its GPU device (${m.message}) and opened a new one on ${m.adapter.description}`);
        for (const l of this.recoverListeners) l(m);
        return;
      case 'request/didFail': {
        this.pending.get(m.id)?.reject(new EngineRequestError(m.code, m.message));
        return;
      }
      default: {
        const p = this.pending.get(m.id);
        if (!m.done) {
          try {
            p?.onChunk?.(m);
          } catch (err) {
            this.log.error(`handling ${m.type} of request ${m.id} failed: ${(err as Error).stack ?? String(err)}`);
          }
          return;
        }
        p?.resolve(m);
      }
    }
  }

  private exited(child: ChildProcess, detail: string): void {
    if (this.child !== child) return; // an old child after a restart, or one we shut down on purpose
    this.child = undefined;
    const error = new EngineExitedError(detail);
    this.log.error(error.message);
    this.failAll(error);
    this.onExit(error);
    for (const l of this.exitListeners) l(error);
  }

  private failAll(error: Error): void {
    for (const p of [...this.pending.values()]) p.reject(error);
    this.pending.clear();
  }
}
