// RMSNorm prologue of a decode matvec: y = W·(x / sqrt(mean(x²) + eps) * normWeight), the RMSNorm before q/k/v,
// gate/up and the LM head fused into their matvec (a separate rmsnorm dispatch of a 2048-vector costs a launch).
// matmul.ts composes this file before the type's kernel (matmulVec*.wgsl) and renames that kernel's x binding to
// xIn, so its dot products read `x` from here: the normed input, staged in workgroup memory by every workgroup.
// Each workgroup sums x² itself (x is small and sits in L2), in the same order in every workgroup, so every row
// sees the same scale; per element, as rmsnorm.wgsl: (x * scale) * normWeight in f32.
// matmul.ts writes the norm weight's binding number, the one after the kernel's params, in place of the braces.

override XWORDS : u32 = 256u; // words of x staged: ceil(cols/4) rounded up (pipelines shared by nearby dims)
override EPS : f32 = 1e-5;   // the norm's epsilon

@group(0) @binding({{normBinding}}) var<storage, read> normWeight : array<f32>; // (cols) f32

var<workgroup> x : array<vec4<f32>, XWORDS>; // (ceil(cols/4)) f32 normed x, 0 past cols; the rest unused

// normWeight[k] for k < cols, else 0.
fn normAt(k : u32) -> f32 {
  return select(0.0, normWeight[min(k, p.cols - 1u)], k < p.cols);
}

fn prologue(t : u32) {
  let words = (p.cols + 3u) / 4u;
  var sum = 0.0;
  for (var i = t; i < words; i += WG) {
    let k = 4u * i;
    // The last word of xIn may hold anything past cols.
    let v = select(vec4<f32>(0.0), xIn[i], vec4<u32>(k, k + 1u, k + 2u, k + 3u) < vec4<u32>(p.cols));
    x[i] = v;
    sum += v.x * v.x;
    sum += v.y * v.y;
    sum += v.z * v.z;
    sum += v.w * v.w;
  }
  partial[t] = vec4<f32>(sum, 0.0, 0.0, 0.0);
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    workgroupBarrier();
    if (t < s) { partial[t].x += partial[t + s].x; }
  }
  workgroupBarrier();
  let scale = inverseSqrt(partial[0].x / f32(p.cols) + EPS);
  // Each thread scales the words it staged: no barrier needed before, one after (before any dot product).
  for (var i = t; i < words; i += WG) {
    let k = 4u * i;
    x[i] = x[i] * scale * vec4<f32>(normAt(k), normAt(k + 1u), normAt(k + 2u), normAt(k + 3u));
  }
  workgroupBarrier();
}
