// Starts the engine process lazily, speaks the typed protocol (gpu/protocol.ts) to it, and restarts it after a
// crash. The extension host never loads Dawn: a native crash or a hung GPU can only take down the child.
import { type ChildProcess, fork } from 'node:child_process';
import type { FromEngine, ReplyTo, ToEngine } from '../gpu/protocol';
import { Disposable } from './disposable';

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

type Pending = { resolve: (m: FromEngine) => void; reject: (e: Error) => void };
type Request = ToEngine extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

export interface EngineLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export class EngineClient extends Disposable {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(
    /** Absolute path of dist/cli.js. */
    private readonly cliPath: string,
    private readonly log: EngineLog,
    private readonly onExit: (error: EngineExitedError) => void,
  ) {
    super();
  }

  /** Sends `message` and resolves with its final reply; rejects with EngineRequestError or EngineExitedError. */
  request<M extends Request>(message: M): Promise<ReplyTo<M['type']>> {
    const child = this.start();
    const id = this.nextId++;
    return new Promise<ReplyTo<M['type']>>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (reply) => resolve(reply as ReplyTo<M['type']>),
        reject,
      });
      child.send({ ...message, id });
    });
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

  private receive(m: FromEngine): void {
    switch (m.type) {
      case 'engine/didStart':
        this.log.info(`engine started, pid ${m.pid}`);
        return;
      case 'engine/didLog':
        this.log[m.level](`[engine] ${m.message}`);
        return;
      case 'request/didFail': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.reject(new EngineRequestError(m.code, m.message));
        return;
      }
      default: {
        if (!m.done) return;
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
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
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }
}
