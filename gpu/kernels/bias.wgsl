// Bias add in place (qwen2's q/k/v bias): x[t, j] += bias[j]. One thread per element.

struct Params {
  count : u32,  // tokens * n
  n : u32,
}

@group(0) @binding(0) var<storage, read> bias : array<f32>;     // (n)
@group(0) @binding(1) var<storage, read_write> x : array<f32>;  // (tokens, n), updated in place
@group(0) @binding(2) var<uniform> p : Params;

override WG : u32 = 256u;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg : vec3<u32>,
  @builtin(num_workgroups) groups : vec3<u32>,
  @builtin(local_invocation_index) lid : u32,
) {
  let i = (wg.y * groups.x + wg.x) * WG + lid;
  if (i >= p.count) { return; }
  x[i] = x[i] + bias[i % p.n];
}
