// The GPU every kernel test shares: opened once per test file, disposed after it. With no adapter the tier fails
// loudly and says how to get one; it never skips.
import { after } from 'node:test';
import { type Gpu, openGpu } from '../../gpu/device';
import { Kernels } from '../../gpu/kernels/registry';

let opened: Promise<{ gpu: Gpu; kernels: Kernels }> | undefined;

// Registered when the test file loads, so it runs after the file's last test (a hook made inside a test would
// run after that test alone).
after(async () => (await opened)?.gpu.dispose());

export function testGpu(): Promise<{ gpu: Gpu; kernels: Kernels }> {
  if (!opened) {
    opened = openGpu({
      onUncapturedError: (m) => {
        throw new Error(`uncaptured GPU error: ${m}`);
      },
    }).then((gpu) => ({ gpu, kernels: new Kernels(gpu) }));
  }
  return opened;
}
