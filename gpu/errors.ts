// Errors the engine raises on purpose. Each message names the thing and the problem, and says what to do.

/** Base of every error the engine throws on purpose; `code` crosses the process boundary as data. */
export class EngineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** No WebGPU adapter could be had on this machine. */
export class NoAdapterError extends EngineError {
  constructor(message: string) {
    super('no-adapter', message);
  }
}

/** The GPU device was lost (driver reset, out of memory, destroyed). */
export class DeviceLostError extends EngineError {
  constructor(reason: string, message: string) {
    super('device-lost', `GPU device lost (${reason}): ${message}`);
  }
}

/** A WGSL kernel failed to compile or validate; `label` names the pipeline variant. */
export class ShaderCompileError extends EngineError {
  constructor(label: string, message: string) {
    super('shader-compile', `kernel ${label} failed to compile: ${message}`);
  }
}

/** A host-side guard before a dispatch failed; the message restates the check and the actual values. */
export class ShapeError extends EngineError {
  constructor(message: string) {
    super('shape', message);
  }
}

/** Fails with a ShapeError unless `ok`; `message` restates the check with the actual values. */
export function checkShape(ok: boolean, message: string): asserts ok {
  if (!ok) throw new ShapeError(message);
}
