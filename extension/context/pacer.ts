// Lets a cancel in during the packer's long synchronous work. A cancel reaches the engine process as a message (a
// test's or the bench's as a timer): either runs only between tasks, so work that never yields to the event loop
// cannot be cancelled. The pacer yields (setImmediate: the pending I/O and timers run first) once every YIELD_MS and
// then checks the signal.
import type { ContextTokenizer } from './framing';

/** Longest stretch of synchronous work between two chances for a cancel to arrive. */
const YIELD_MS = 20;

export class Pacer {
  private yielded = performance.now();

  constructor(private readonly signal: AbortSignal | undefined) {}

  /** Yields to the event loop if YIELD_MS passed since it last did; throws the signal's reason once aborted. */
  async breathe(): Promise<void> {
    if (performance.now() - this.yielded > YIELD_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      this.yielded = performance.now();
    }
    this.signal?.throwIfAborted();
  }
}

/**
 * `tokenizer.encode(text)` with a breath between the tokenizer's steps when it has encodeSteps (the model's own
 * tokenizers do: an 800 KB file takes 0.3–1.7 s in one piece), else in one piece.
 */
export async function encodePaced(tokenizer: ContextTokenizer, text: string, pacer: Pacer): Promise<Uint32Array> {
  if (!tokenizer.encodeSteps) return Uint32Array.from(tokenizer.encode(text));
  const out: number[] = [];
  for (const _ of tokenizer.encodeSteps(text, out)) await pacer.breathe();
  return Uint32Array.from(out);
}
