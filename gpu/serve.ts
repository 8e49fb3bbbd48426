// `quest-lens serve`: the engine process the extension starts. It owns the GPU; the extension host never loads Dawn.
// A native crash or a hung driver here cannot take the editor down: the extension sees this process exit and
// restarts it.
import { type Gpu, openGpu } from './device';
import { EngineError } from './errors';
import type { FromEngine, ToEngine } from './protocol';

export async function serve(): Promise<number> {
  if (!process.send) {
    console.error('quest-lens serve: must be started by the extension with an IPC channel (child_process.fork)');
    return 2;
  }
  const send = (m: FromEngine) => process.send!(m);
  let gpu: Promise<Gpu> | undefined;
  const openOnce = () => (gpu ??= openGpu({ onUncapturedError: (m) => send({ type: 'engine/didLog', level: 'error', message: m }) }));

  const handle = async (m: ToEngine): Promise<FromEngine | undefined> => {
    switch (m.type) {
      case 'gpu/describe':
        return { type: 'gpu/didDescribe', id: m.id, done: true, adapter: (await openOnce()).summary };
      case 'request/cancel':
        return undefined; // nothing cancellable runs yet; a late cancel is not an error
      case 'engine/shutdown':
        if (gpu) (await gpu).dispose();
        send({ type: 'engine/didShutdown', id: m.id, done: true });
        process.exit(0);
    }
  };

  process.on('message', (m: ToEngine) => {
    handle(m).then(
      (reply) => reply && send(reply),
      (err: Error) =>
        send({
          type: 'request/didFail',
          id: m.id,
          done: true,
          code: err instanceof EngineError ? err.code : 'internal',
          message: err.message,
        }),
    );
  });
  // The extension host went away: nothing is left to serve.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'engine/didStart', pid: process.pid });
  return new Promise<number>(() => {}); // runs until shutdown or disconnect
}
