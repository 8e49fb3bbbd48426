// The llama.cpp evaluation oracle, run as a child process by llamaCpp.ts (node-llama-cpp is ESM with a native addon:
// test bundles leave it out, and it needs process.exit to end). Reads {model, contextSize, runs: [{prompt, steps}]}
// as JSON on stdin; for each run it evaluates the prompt, then `steps` greedy tokens, recording the next-token
// distribution before each one. A run may set `kvType` ('F32', 'F16': K and V cache type) and
// `flashAttention` (default llama.cpp's 'auto'; false for the tightest comparison: flash attention accumulates V in
// f16, ≈ 2e-3 in probability). Prints one line `RESULT <json>`: per run {tokens: number[], probs: [id, p][][]}
// (the distribution as pairs, highest first, down to 1e-7).
import { getLlama } from 'node-llama-cpp';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const { model: modelPath, contextSize, runs } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
try {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const model = await llama.loadModel({ modelPath });
  const out = [];
  for (const run of runs) {
    // threads: 1: on a busy machine llama.cpp's spinning worker threads make small models take tens of seconds.
    const context = await model.createContext({
      contextSize,
      threads: 1,
      ...(run.flashAttention !== undefined ? { flashAttention: run.flashAttention } : {}),
      ...(run.kvType ? { experimentalKvCacheKeyType: run.kvType, experimentalKvCacheValueType: run.kvType } : {}),
    });
    const sequence = context.getSequence();
    // Probabilities with no sampling filters; the token fed back is the argmax, so the run is greedy.
    const it = sequence.evaluateWithMetadata(run.prompt, { probabilities: true }, { temperature: 1, topK: 0, topP: 1, minP: 0 });
    const tokens = [];
    const probs = [];
    let next;
    for (let i = 0; i < run.steps; i++) {
      const r = await it.next(next);
      // node-llama-cpp ends the sequence after an end-of-generation token was fed back.
      if (r.done) throw new Error(`llama.cpp ended the sequence after ${tokens.length} of ${run.steps} steps (token ${next} is end-of-generation)`);
      const pairs = [...r.value.probabilities.entries()].filter(([, p]) => p >= 1e-7);
      probs.push(pairs);
      next = pairs[0][0];
      tokens.push(next);
    }
    out.push({ tokens, probs });
    await context.dispose();
  }
  // Exit only once the pipe took the whole line: a large result is written asynchronously.
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`, () => process.exit(0));
} catch (e) {
  process.stderr.write(`llama.cpp oracle failed on ${modelPath}: ${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
}
