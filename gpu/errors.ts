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
  constructor(
    /** GPUDeviceLostInfo.reason ('destroyed' or 'unknown'). */
    readonly reason: string,
    /** What the driver said. */
    readonly detail: string,
    advice = '',
  ) {
    super('device-lost', `GPU device lost (${reason}): ${detail}${advice ? `. ${advice}` : ''}`);
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

/** A GGUF file is malformed or cannot be read; the message starts with the file's path and names the field. */
export class GgufError extends EngineError {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super('gguf', `${path}: ${problem}`);
  }
}

/** A GGUF tensor uses a ggml type the engine does not read (e.g. Q5_K); the message names the tensor and the type. */
export class UnsupportedTensorTypeError extends EngineError {
  constructor(path: string, tensor: string, type: string, supported: readonly string[]) {
    super(
      'unsupported-tensor-type',
      `${path}: tensor '${tensor}' has type ${type}, which the engine does not read (it reads ${supported.join(', ')}); ` +
        'use a GGUF quantized as Q4_K_M, Q8_0, F16 or BF16',
    );
  }
}

/** Model metadata the engine cannot run: an unknown architecture, inconsistent or unsupported hyperparameters. */
export class ModelConfigError extends EngineError {
  constructor(path: string, problem: string) {
    super('model-config', `${path}: ${problem}`);
  }
}

/** A model tensor is missing or has dims other than the config implies; the message names both. */
export class ModelShapeError extends EngineError {
  constructor(path: string, problem: string) {
    super('model-shape', `${path}: ${problem}`);
  }
}

/** The GGUF tokenizer metadata is missing, malformed, or asks for a tokenizer this engine does not implement. */
export class TokenizerError extends EngineError {
  constructor(message: string) {
    super('tokenizer', message);
  }
}

/** A chat template failed to parse or render; the message names the template source and Jinja's complaint. */
export class ChatTemplateError extends EngineError {
  constructor(message: string) {
    super('chat-template', message);
  }
}
