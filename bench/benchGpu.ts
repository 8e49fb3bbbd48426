// The GPU for benchmarks: openGpu with Dawn's `timestamp_quantization` toggle off. Dawn rounds timestamps down to
// 2^16 ns (65.5 µs) by default (a browser fingerprinting guard, measured here on lavapipe), which would make
// per-kernel times of a few µs meaningless. The engine keeps the default; only the bench turns it off.
import { type Gpu, openGpu } from '../gpu/device';

export const benchDawnFlags = ['disable-dawn-features=timestamp_quantization'];

/** Opens the best adapter like openGpu (hardware first, then the provisioned lavapipe) with exact timestamps. */
export function openBenchGpu(): Promise<Gpu> {
  return openGpu({
    dawnFlags: benchDawnFlags,
    onUncapturedError: (m) => {
      console.error(`[bench] uncaptured GPU error: ${m}`);
      process.exitCode = 1;
    },
  });
}
