// Decode matvec, Q6_K weight: y[rowOffset + r] (+)= sum_k W[r, k] * x[k], W = d * sc[k/16] * (q - 32), q 6 bits.
// Unit u of a row covers 64 elements: for half h and v (u % 4 = 2h + v) of super-block u / 4, elements
// e = 128h + 16v + 32g + i (g < 4, i < 16) take their low 4 bits from ql bytes 64h + 16v + i (g = 0, low nibble),
// 64h + 32 + 16v + i (g = 1, low), the same two (g = 2, 3: high nibbles), and their top 2 bits from qh byte
// 32h + 16v + i at bit 2g; scale sc[8h + v + 2g]; summed per g as d sc (sum q x - 32 sum x).
// A unit of work is 64 elements (two ql words, one qh word).
// A group of TPR threads computes NR consecutive rows: each thread strides over the units (neighbouring threads
// read neighbouring words: coalesced), loads a unit's x once for all NR rows (x reads, not weight reads, limit
// quantized types at NR = 1), accumulates in f32; the group then reduces in workgroup memory. TPR = NR = 1 is
// one row per thread, what lavapipe runs fastest.
// rowOf, store, writeRows and main (the reduction and outputs) come from matmulVecEpilogue.wgsl, which matmul.ts
// appends to this file.

struct Params {
  rows : u32,       // rows of this weight part
  cols : u32,       // K, a multiple of 256
  rowOffset : u32,  // row of the whole weight at the part's row 0
  gridX : u32,      // workgroups along x (a 2-D grid when rows need more than 65535 workgroups)
  accumulate : u32, // 1: y += W·x (fuses a residual add), 0: y = W·x
  split1 : u32,     // weight rows [0, split1) go to y, [split1, split2) to y1, the rest to y2 (fused q/k/v)
  split2 : u32,
  bias : u32,       // 1: bias[row] is added (fused q/k/v bias)
}

@group(0) @binding(0) var<storage, read> ql : array<vec4<u32>>;  // (rows, cols/32) low 4 bits, ggml order
@group(0) @binding(1) var<storage, read> qh : array<vec4<u32>>;  // (rows, cols/64) high 2 bits, ggml order
@group(0) @binding(2) var<storage, read> sc : array<vec4<u32>>;  // (rows, cols/256) 16 int8 scales per word
@group(0) @binding(3) var<storage, read> d : array<f32>;         // (rows, cols/256) super-block scale
@group(0) @binding(4) var<storage, read> x : array<vec4<f32>>; // (cols/4) f32
@group(0) @binding(5) var<storage, read> bias : array<f32>;      // (weight rows) f32, read when p.bias == 1
@group(0) @binding(6) var<storage, read_write> y : array<f32>;  // (split1) f32; with SWIGLU silu(gate) * up
@group(0) @binding(7) var<storage, read_write> y1 : array<f32>; // (split2 - split1) f32
@group(0) @binding(8) var<storage, read_write> y2 : array<f32>; // (weight rows - split2) f32
@group(0) @binding(9) var<uniform> p : Params;

override WG : u32 = 256u; // threads per workgroup
override TPR : u32 = 32u; // threads per row group: a power of two dividing WG
override NR : u32 = 1u;   // rows per group, 1..4 (even with SWIGLU)
// Rows [0, split1) are ffn_gate and [split1, 2 split1) ffn_up (one part): a group computes NR/2 gate rows and the
// matching up rows and writes y[j] = silu(gate_j) * up_j, fusing the SwiGLU after the matvec.
override SWIGLU : bool = false;

var<workgroup> partial : array<vec4<f32>, WG>; // per thread: its sums for the group's NR rows

// The int8 scales j, j + 2, j + 4, j + 6 (j = 8h + v, v < 2) of a super-block's 16: bytes v and v + 2 of scales
// words 2h and 2h + 1. Shifts and selects only: a vector indexed at run time (s[i]) can spill to memory.
fn scales4(s : vec4<u32>, h : u32, v : u32) -> vec4<f32> {
  let lo = select(s.x, s.z, h == 1u);
  let hi = select(s.y, s.w, h == 1u);
  let shift = vec4<u32>(24u - 8u * v, 8u - 8u * v, 24u - 8u * v, 8u - 8u * v); // the byte to the top, then sign-extend
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(lo, lo, hi, hi) << shift) >> vec4<u32>(24u));
}

// The four bytes of w, byte 0 first, as floats (each byte holds one unsigned quant).
fn bytes4(w : u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

// This lane's share of the rows of group g; rows past the part's end repeat its last row (never written).
fn rowsDot(g : u32, lane : u32) -> vec4<f32> {
  let units = p.cols / 64u;
  let nb = p.cols / 256u;
  let nibble = vec4<u32>(0x0f0f0f0fu);
  let twoBits = vec4<u32>(0x03030303u);
  var acc = vec4<f32>(0.0);
  for (var u = lane; u < units; u += TPR) {
    let sb = u / 4u;
    let h = (u % 4u) / 2u;
    let v = u % 2u;
    let xb = 64u * sb + 32u * h + 4u * v; // x word of element 256 sb + 128 h + 16 v
    let x00 = x[xb + 0u];
    let x01 = x[xb + 1u];
    let x02 = x[xb + 2u];
    let x03 = x[xb + 3u];
    let x10 = x[xb + 8u];
    let x11 = x[xb + 9u];
    let x12 = x[xb + 10u];
    let x13 = x[xb + 11u];
    let x20 = x[xb + 16u];
    let x21 = x[xb + 17u];
    let x22 = x[xb + 18u];
    let x23 = x[xb + 19u];
    let x30 = x[xb + 24u];
    let x31 = x[xb + 25u];
    let x32 = x[xb + 26u];
    let x33 = x[xb + 27u];
    let one = vec4<f32>(1.0);
    let sumX = vec4<f32>(dot(x00 + x01 + x02 + x03, one), dot(x10 + x11 + x12 + x13, one),
                         dot(x20 + x21 + x22 + x23, one), dot(x30 + x31 + x32 + x33, one));
    for (var r = 0u; r < NR; r++) {
      let row = rowOf(g, r);
      let blk = row * nb + sb;
      let a = ql[8u * blk + 4u * h + v];
      let b = ql[8u * blk + 4u * h + 2u + v];
      let hb = qh[4u * blk + 2u * h + v];
      // The 6-bit quants of g = 0..3, four per word (one per byte), built with masks over whole words.
      let q0 = (a & nibble) | ((hb & twoBits) << vec4<u32>(4u));
      let q1 = (b & nibble) | (((hb >> vec4<u32>(2u)) & twoBits) << vec4<u32>(4u));
      let q2 = ((a >> vec4<u32>(4u)) & nibble) | (((hb >> vec4<u32>(4u)) & twoBits) << vec4<u32>(4u));
      let q3 = ((b >> vec4<u32>(4u)) & nibble) | (((hb >> vec4<u32>(6u)) & twoBits) << vec4<u32>(4u));
      let s = vec4<f32>(dot(bytes4(q0.x), x00) + dot(bytes4(q0.y), x01) + dot(bytes4(q0.z), x02) + dot(bytes4(q0.w), x03),
                        dot(bytes4(q1.x), x10) + dot(bytes4(q1.y), x11) + dot(bytes4(q1.z), x12) + dot(bytes4(q1.w), x13),
                        dot(bytes4(q2.x), x20) + dot(bytes4(q2.y), x21) + dot(bytes4(q2.z), x22) + dot(bytes4(q2.w), x23),
                        dot(bytes4(q3.x), x30) + dot(bytes4(q3.y), x31) + dot(bytes4(q3.z), x32) + dot(bytes4(q3.w), x33));
      acc[r] += d[blk] * dot(scales4(sc[blk], h, v), s - 32.0 * sumX);
    }
  }
  return acc;
}
