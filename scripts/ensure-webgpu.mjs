// Makes sure the engine will find a WebGPU adapter: on Linux x86_64 it provisions Mesa 25 lavapipe privately
// (scripts/provision-lavapipe.sh, cached; a hardware adapter is still preferred when one exists). Elsewhere the
// system's own Metal / D3D12 / Vulkan driver is used and nothing is done.
//   node scripts/ensure-webgpu.mjs
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function ensureWebGpu() {
  if (process.platform !== 'linux' || process.arch !== 'x64' || process.env.VK_DRIVER_FILES) return;
  const script = fileURLToPath(new URL('provision-lavapipe.sh', import.meta.url));
  execFileSync('bash', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureWebGpu();
