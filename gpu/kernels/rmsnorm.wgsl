// RMSNorm over each row: out[r, i] = x[r, i] / sqrt(mean(x[r, :]^2) + eps) * weight[i].
// One workgroup per row; each thread strides over the row, then a tree reduction in workgroup memory.

struct Params {
  rows : u32,
  dim : u32,
  eps : f32,
}

@group(0) @binding(0) var<storage, read> x : array<f32>;           // (rows, dim)
@group(0) @binding(1) var<storage, read> weight : array<f32>;      // (dim)
@group(0) @binding(2) var<storage, read_write> out : array<f32>;   // (rows, dim); may alias nothing
@group(0) @binding(3) var<uniform> p : Params;

override WG : u32 = 256u;
var<workgroup> partial : array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let row = wg.x;
  if (row >= p.rows) { return; }   // uniform per workgroup: no barrier is skipped by some threads only
  let base = row * p.dim;
  var sum = 0.0;
  for (var i = t; i < p.dim; i += WG) {
    let v = x[base + i];
    sum += v * v;
  }
  partial[t] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (t < s) { partial[t] += partial[t + s]; }
    workgroupBarrier();
  }
  let scale = inverseSqrt(partial[0] / f32(p.dim) + p.eps);
  for (var i = t; i < p.dim; i += WG) {
    out[base + i] = x[base + i] * scale * weight[i];
  }
}
