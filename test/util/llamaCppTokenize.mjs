// The llama.cpp tokenizer oracle, run as a child process by llamaCpp.ts (node-llama-cpp is ESM with a native addon,
// so test bundles do not include it, and it needs process.exit to end). Reads {model, cases: [{text, special}]} as
// JSON on stdin, loads only the model's vocabulary, and prints one line `IDS <json number[][]>`.
import { getLlama } from 'node-llama-cpp';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const { model: modelPath, cases } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
try {
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const model = await llama.loadModel({ modelPath, vocabOnly: true });
  // tokenize(text, special) = llama_tokenize(add_special = false, parse_special = special): no BOS is added.
  const ids = cases.map((c) => Array.from(model.tokenize(c.text, c.special)));
  // Exit only once the pipe took the whole line: past the pipe's buffer the write finishes asynchronously, and an
  // exit before then cut the line short (a few hundred KB of ids).
  process.stdout.write(`IDS ${JSON.stringify(ids)}\n`, () => process.exit(0));
} catch (e) {
  process.stderr.write(`llama.cpp oracle failed on ${modelPath}: ${e instanceof Error ? e.stack : e}\n`, () => process.exit(1));
}
