// `npm run eval` (node dist/eval.mjs): the default model's evaluation through the WebGPU engine, never PyTorch.
// Held-out quoting (exact match, first token, attention citations) at each context length, dense and Quest at each
// budget, and the passkey table; results to eval/results/*.json.gz, tables to stdout. Also `report` (the model card's
// section from a results file), `pack-heldout` (the held-out packages as one archive for the GPU machine) and
// `parity` (the engine's next-token logits on fixed prompts, for model/train/parity.py's PyTorch comparison).
// Options: eval/options.ts (`--help`).
import { existsSync } from 'node:fs';
import { openGpu } from '../gpu/device';
import { EngineError } from '../gpu/errors';
import { HeldOutError } from './heldout';
import { cardPath, defaultModelPath, evalOptions, evalUsage, packOptions, parityOptions, parseCommand, UsageError } from './options';
import { packHeldOut } from './packHeldOut';
import { runParity } from './parity';
import { renderEval, writeCard } from './report';
import { runEval } from './run';

const log = (line: string) => console.error(`[eval] ${line}`);

async function main(argv: readonly string[]): Promise<number> {
  const cmd = parseCommand(argv);
  if (cmd.command === 'help') {
    console.log(evalUsage);
    return 0;
  }
  if (cmd.command === 'report') {
    if (cmd.positionals.length !== 1) throw new UsageError('report needs one results file');
    writeCard(cmd.positionals[0], cardPath(cmd.values));
    log(`${cardPath(cmd.values)}: evaluation section rewritten from ${cmd.positionals[0]}`);
    return 0;
  }
  if (cmd.command === 'pack-heldout') {
    const o = packOptions(cmd.values);
    const packed = packHeldOut(o);
    log(`${o.out}: ${packed.packages} held-out packages, ${(packed.bytes / 2 ** 20).toFixed(2)} MiB`);
    return 0;
  }
  const model = cmd.values.model as string;
  if (!existsSync(model)) {
    throw new UsageError(
      model === defaultModelPath
        ? `--model: ${model} does not exist: the default model is not committed yet (model/README.md); give --model FILE`
        : `--model: ${model} does not exist`,
    );
  }
  const gpu = await openGpu();
  try {
    if (cmd.command === 'parity') {
      const o = parityOptions(cmd.values, gpu.summary.isSoftware);
      log(`${gpu.summary.description}: parity of ${model}, ${o.steps} steps, passkey prompt ${o.passkeyTokens} tokens, KV ${o.kvType}`);
      await runParity(o, gpu, log);
      log(`engine logits: ${o.out} (compare: python3 model/train/parity.py ${o.out} --model ${model})`);
      return 0;
    }
    const o = evalOptions(cmd.values, gpu.summary.isSoftware);
    log(`${gpu.summary.description}${gpu.summary.isSoftware ? ' (software adapter: the small default run)' : ''}; lengths ${o.lengths.join(', ')}, budgets ${o.budgets.join(', ')}`);
    const { result, file } = await runEval(o, gpu, { log, command: `node dist/eval.mjs ${argv.join(' ')}`.trim() });
    process.stdout.write(renderEval(result, file));
    log(`results: ${file}`);
    return 0;
  } finally {
    gpu.dispose();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    // Errors that name the file and the problem print as they are; anything else with its stack.
    const known = e instanceof UsageError || e instanceof HeldOutError || e instanceof EngineError;
    console.error(e instanceof UsageError ? e.message : known ? `eval failed: ${e.message}` : e instanceof Error ? `eval failed: ${e.stack ?? e.message}` : e);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
