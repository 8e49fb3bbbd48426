// The `quest-lens` CLI, and the engine process the extension starts (same entry).
//   quest-lens doctor           the WebGPU adapter, its limits and features; exit 1 when there is none
//   quest-lens generate ...     text from a GGUF model, the built-in one by default (see generateUsage)
//   quest-lens ask ...          a question about a workspace: answer, citations, page heatmap (see askUsage)
//   quest-lens selftest         the engine end to end on a generated model: dense and Quest checked against each other
//   quest-lens serve            the engine process (started by the extension over an IPC channel)
import { ask, askUsage } from './ask';
import { doctor } from './doctor';
import { generate, generateUsage } from './generate';
import { selftest } from './selftest';
import { serve } from './serve';

const usage = `usage: quest-lens <command>

${generateUsage}
${askUsage}

commands:
  doctor      show the WebGPU adapter, its key limits and features
  generate    generate text with a GGUF model (default: the built-in model)
  ask         answer a question about a workspace (files, citations, page heatmap; default: the built-in model)
  selftest    run the engine end to end on a generated model, dense and Quest
  serve       run as the extension's engine process (IPC only)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'doctor':
      return doctor(rest);
    case 'generate':
      return generate(rest);
    case 'ask':
      return ask(rest);
    case 'selftest':
      return selftest();
    case 'serve':
      return serve();
    case undefined:
    case '-h':
    case '--help':
      console.log(usage);
      return command === undefined ? 2 : 0;
    default:
      console.error(`quest-lens: unknown command '${command}'\n\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`quest-lens: ${err.message}`);
    process.exit(1);
  },
);
