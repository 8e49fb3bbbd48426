// Prefill matmul, F32 weight: Y[m, rowOffset + n] (+)= sum_k X[m, k] * W[n, k] for the rows n of one weight
// part. A workgroup computes a 64 x 64 tile of Y (64 tokens x 64 weight rows), stepping over K 32 at a time: its 256
// threads dequantize the W tile (8 elements each) and copy the X tile into workgroup memory, then each accumulates
// a 4 x 4 block of outputs in f32 from there, so every weight element read from memory serves 64 tokens.

struct Params {
  rows : u32,      // rows this dispatch computes: a weight part, or a segment of one
  cols : u32,      // K
  rowOffset : u32, // Y column of the dispatch's row 0
  tokens : u32,    // M
  outCols : u32,   // Y row stride: the whole weight's rows
  accumulate : u32, // 1: Y += X·Wᵀ (fuses a residual add), 0: Y = X·Wᵀ
  firstRow : u32,   // row of the bound part that is this dispatch's row 0 (a segment of a fused weight)
}

@group(0) @binding(0) var<storage, read> w : array<u32>;  // (rows, 4 ceil(cols/4)) f32 bits, rows zero padded to 16 B
@group(0) @binding(1) var<storage, read> x : array<f32>;        // (tokens, cols) f32
@group(0) @binding(2) var<storage, read_write> y : array<f32>;  // (tokens, outCols) f32
@group(0) @binding(3) var<uniform> p : Params;


const TM = 64u; // tokens per tile
const TN = 64u; // weight rows per tile
const TK = 32u; // K per step

var<workgroup> xs : array<vec4<f32>, 512>; // (TK, TM/4): xs[k * 16 + m / 4][m % 4] = X[m0 + m, k0 + k]
var<workgroup> ws : array<vec4<f32>, 512>; // (TK, TN/4): ws[k * 16 + n / 4][n % 4] = W[n0 + n, k0 + k]

// Elements k0..k0+7 of row `row` (k0 % 8 == 0, k0 < cols); elements at or past cols read as 0.
fn load8(row : u32, k0 : u32) -> array<vec4<f32>, 2> {
  let base = row * ((p.cols + 3u) / 4u * 4u) + k0;
  var v = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
  for (var i = 0u; i < 8u; i++) {
    if (k0 + i < p.cols) { v[i / 4u][i % 4u] = bitcast<f32>(w[base + i]); }
  }
  return v;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let n0 = wg.x * TN;
  let m0 = wg.y * TM;
  let tx = t % 16u;       // this thread's outputs: weight rows n0 + 4 tx + j, tokens m0 + 4 ty + i
  let ty = t / 16u;
  let lr = t / 4u;        // what it loads: weight row n0 + lr and token m0 + lr,
  let lk = (t % 4u) * 8u; // elements k0 + lk .. k0 + lk + 7
  let m = m0 + lr;
  var acc : array<vec4<f32>, 4>; // acc[i][j] = Y[m0 + 4 ty + i, n0 + 4 tx + j]
  for (var k0 = 0u; k0 < p.cols; k0 += TK) {
    var wv = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
    if (n0 + lr < p.rows && k0 + lk < p.cols) { wv = load8(p.firstRow + n0 + lr, k0 + lk); }
    for (var i = 0u; i < 8u; i++) {
      let k = k0 + lk + i;
      var xv = 0.0;
      if (m < p.tokens && k < p.cols) { xv = x[m * p.cols + k]; }
      xs[(lk + i) * 16u + lr / 4u][lr % 4u] = xv;
      ws[(lk + i) * 16u + lr / 4u][lr % 4u] = wv[i / 4u][i % 4u];
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let a = xs[k * 16u + ty];
      let b = ws[k * 16u + tx];
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let mi = m0 + 4u * ty + i;
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + 4u * tx + j;
      if (mi < p.tokens && n < p.rows) {
        let o = mi * p.outCols + p.rowOffset + n;
        if (p.accumulate == 1u) { y[o] += acc[i][j]; } else { y[o] = acc[i][j]; }
      }
    }
  }
}
