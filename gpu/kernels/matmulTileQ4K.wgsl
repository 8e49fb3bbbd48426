// Prefill matmul, Q4_K weight: Y[m, rowOffset + n] (+)= sum_k X[m, k] * W[n, k] for the rows n of one weight
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

@group(0) @binding(0) var<storage, read> qs : array<u32>;   // (rows, cols/8) 128 bytes per super-block, ggml order
@group(0) @binding(1) var<storage, read> hdr : array<u32>;  // (rows, cols/256, 4) d|dmin, scales[12]
@group(0) @binding(2) var<storage, read> x : array<f32>;        // (tokens, cols) f32
@group(0) @binding(3) var<storage, read_write> y : array<f32>;  // (tokens, outCols) f32
@group(0) @binding(4) var<uniform> p : Params;


const TM = 64u; // tokens per tile
const TN = 64u; // weight rows per tile
const TK = 32u; // K per step

var<workgroup> xs : array<vec4<f32>, 512>; // (TK, TM/4): xs[k * 16 + m / 4][m % 4] = X[m0 + m, k0 + k]
var<workgroup> ws : array<vec4<f32>, 512>; // (TK, TN/4): ws[k * 16 + n / 4][n % 4] = W[n0 + n, k0 + k]

// Byte i of scales[12] of the super-block whose hdr starts at word m.
fn scaleByte(m : u32, i : u32) -> u32 {
  return (hdr[m + 1u + i / 4u] >> (8u * (i % 4u))) & 0xffu;
}

// ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j.
fn scaleMin(m : u32, j : u32) -> vec2<f32> {
  if (j < 4u) {
    return vec2<f32>(f32(scaleByte(m, j) & 63u), f32(scaleByte(m, j + 4u) & 63u));
  }
  let sc = (scaleByte(m, j + 4u) & 15u) | ((scaleByte(m, j - 4u) >> 6u) << 4u);
  let mn = (scaleByte(m, j + 4u) >> 4u) | ((scaleByte(m, j) >> 6u) << 4u);
  return vec2<f32>(f32(sc), f32(mn));
}

// Elements k0..k0+7 of row `row` (k0 % 8 == 0): in super-block sb = k0/256, element e = 64p + 32h + l sits in
// qs byte 32p + l, low nibble for h = 0 (sub-block 2p) and high for h = 1 (sub-block 2p + 1);
// W = d * sc * q - dmin * m.
fn load8(row : u32, k0 : u32) -> array<vec4<f32>, 2> {
  let sb = k0 / 256u;
  let e = k0 % 256u;
  let pp = e / 64u;
  let h = (e % 64u) / 32u;
  let i = row * (p.cols / 8u) + 32u * sb + (32u * pp + e % 32u) / 4u;
  let m = 4u * (row * (p.cols / 256u) + sb);
  let dm = unpack2x16float(hdr[m]);
  let sm = scaleMin(m, 2u * pp + h);
  let shift = vec4<u32>(0u, 8u, 16u, 24u) + vec4<u32>(4u * h);
  let lo = vec4<f32>((vec4<u32>(qs[i]) >> shift) & vec4<u32>(15u));
  let hi = vec4<f32>((vec4<u32>(qs[i + 1u]) >> shift) & vec4<u32>(15u));
  let scale = dm.x * sm.x;
  let offset = dm.y * sm.y;
  return array<vec4<f32>, 2>(scale * lo - offset, scale * hi - offset);
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
