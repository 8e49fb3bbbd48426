// SwiGLU: out = silu(gate) * up, element by element, with silu(g) = g / (1 + exp(-g)). One thread per element.

struct Params {
  count : u32,  // tokens * ffn
}

@group(0) @binding(0) var<storage, read> gate : array<f32>;       // (tokens, ffn)
@group(0) @binding(1) var<storage, read> up : array<f32>;         // (tokens, ffn)
@group(0) @binding(2) var<storage, read_write> out : array<f32>;  // (tokens, ffn)
@group(0) @binding(3) var<uniform> p : Params;

override WG : u32 = 256u;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wg : vec3<u32>,
  @builtin(num_workgroups) groups : vec3<u32>,
  @builtin(local_invocation_index) lid : u32,
) {
  let i = (wg.y * groups.x + wg.x) * WG + lid;
  if (i >= p.count) { return; }
  let g = gate[i];
  // exp(-g) overflows to +inf for g < -88: g / inf = -0, the right limit.
  out[i] = g / (1.0 + exp(-g)) * up[i];
}
