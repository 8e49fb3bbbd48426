// What a greedy generate() needs to run one decodeStep ahead of the host (see Engine.generate) and to undo that step
// when the token before it ends the answer. The step ahead reads its input token where the step before left it on the
// GPU, and it overwrites the run state's logits and adds to the attention totals before the host knows whether it
// counts; so each step keeps a copy of the logits that chose its token (one per readback ring slot: engine.logits()
// at a yield reads the yielded token's), and each step ahead first copies the attention totals it will add to.
// Everything is made at load; a step adds two or three buffer copies and no dispatch.
import { createStorage } from './buffers';
import type { Gpu } from './device';
import type { Forward } from './forward/forward';
import type { RunState } from './forward/runState';

/** Slots of the logits ring: as many as the token readback's (sample.ts ResultReadback). */
const SLOTS = 2;

export class Lookahead {
  private constructor(
    private readonly state: RunState,
    private readonly forward: Forward,
    /** [slot] (vocab) f32 the logits that chose the slot's token */
    private readonly logits: readonly GPUBuffer[],
    /** (kvHeads, maxPages) f32 forward.attentionMass.received before the step ahead */
    private readonly received: GPUBuffer,
  ) {}

  static create(gpu: Gpu, state: RunState, forward: Forward, vocab: number): Lookahead {
    const logits = Array.from({ length: SLOTS }, (_, s) => createStorage(gpu, `lookahead.logits[${s}]`, vocab * 4));
    const received = createStorage(gpu, 'lookahead.received', forward.attentionMass.received.size);
    return new Lookahead(state, forward, logits, received);
  }

  /** The buffer holding the logits that chose the token of `slot`. */
  logitsOf(slot: number): GPUBuffer {
    return this.logits[slot % SLOTS];
  }

  /** Begins a step ahead: its input is the token the step before it chose, still on the GPU. */
  encodeBegin(encoder: GPUCommandEncoder, attention: boolean): void {
    encoder.copyBufferToBuffer(this.forward.token, 0, this.state.ids, 0, 4);
    const totals = this.forward.attentionMass.received;
    if (attention) encoder.copyBufferToBuffer(totals, 0, this.received, 0, totals.size);
  }

  /** Ends a step (or generate()'s first token): keeps the logits that chose its token in `slot`. */
  encodeKeep(encoder: GPUCommandEncoder, slot: number): void {
    encoder.copyBufferToBuffer(this.state.logits, 0, this.logitsOf(slot), 0, this.state.logits.size);
  }

  /**
   * Undoes the GPU side of a step ahead whose input is the token of `slot`: the GPU's token, the logits and (with
   * `attention`) the attention totals go back to what they were before it ran.
   */
  encodeUndo(encoder: GPUCommandEncoder, slot: number, attention: boolean): void {
    encoder.copyBufferToBuffer(this.state.ids, 0, this.forward.token, 0, 4);
    encoder.copyBufferToBuffer(this.logitsOf(slot), 0, this.state.logits, 0, this.state.logits.size);
    const totals = this.forward.attentionMass.received;
    if (attention) encoder.copyBufferToBuffer(this.received, 0, totals, 0, totals.size);
  }

  destroy(): void {
    for (const b of [...this.logits, this.received]) b.destroy();
  }
}
