// attentionDecode, reduce phase: combines the SPLITS partial results of each query head (attentionDecode.wgsl) into
// out[h] = Σ_s exp(max_s - M) · acc_s / Σ_s exp(max_s - M) · sum_s with M = max_s max_s. One workgroup per query head.

@group(0) @binding(0) var<storage, read> partial : array<vec4<f32>>;       // (heads, SPLITS, headDim/4 + 1): acc, then (max, sum, 0, 0)
@group(0) @binding(1) var<storage, read_write> out : array<vec4<f32>>;     // (heads, headDim/4)

override HEAD_DIM : u32 = 64u;
override SPLITS : u32 = 1u;
override WG : u32 = 32u;
override D4 : u32 = HEAD_DIM / 4u;

const NEG : f32 = -1e30;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let base = wid.x * SPLITS * (D4 + 1u);
  var m = NEG;
  for (var s = 0u; s < SPLITS; s++) { m = max(m, partial[base + s * (D4 + 1u) + D4].x); }
  var sum = 0.0;
  for (var s = 0u; s < SPLITS; s++) {
    let stats = partial[base + s * (D4 + 1u) + D4];
    sum += stats.y * exp(stats.x - m);
  }
  for (var c = t; c < D4; c += WG) {
    var a = vec4(0.0);
    for (var s = 0u; s < SPLITS; s++) {
      a += partial[base + s * (D4 + 1u) + c] * exp(partial[base + s * (D4 + 1u) + D4].x - m);
    }
    out[wid.x * D4 + c] = a / sum;
  }
}
