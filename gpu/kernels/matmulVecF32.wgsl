// Decode matvec, F32 weight: y[rowOffset + r] (+)= sum_k W[r, k] * x[k] for the rows r of one weight part.
// A unit of work is one 16-byte word (4 elements).
// A group of TPR threads computes NR consecutive rows: each thread strides over the units (neighbouring threads
// read neighbouring words: coalesced), loads a unit's x once for all NR rows (x reads, not weight reads, limit
// quantized types at NR = 1), accumulates in f32; the group then reduces in workgroup memory. TPR = NR = 1 is
// one row per thread, what lavapipe runs fastest.
// rowOf, store, writeRows and main (the reduction and outputs) come from matmulVecEpilogue.wgsl, which matmul.ts
// appends to this file.

struct Params {
  rows : u32,       // rows of this weight part
  cols : u32,       // K
  rowOffset : u32,  // row of the whole weight at the part's row 0
  gridX : u32,      // workgroups along x (a 2-D grid when rows need more than 65535 workgroups)
  accumulate : u32, // 1: y += W·x (fuses a residual add), 0: y = W·x
  split1 : u32,     // weight rows [0, split1) go to y, [split1, split2) to y1, the rest to y2 (fused q/k/v)
  split2 : u32,
  bias : u32,       // 1: bias[row] is added (fused q/k/v bias)
}

@group(0) @binding(0) var<storage, read> w : array<vec4<f32>>;  // (rows, ceil(cols/4)) f32, rows zero padded to 16 B
@group(0) @binding(1) var<storage, read> x : array<vec4<f32>>; // (ceil(cols/4)) f32
@group(0) @binding(2) var<storage, read> bias : array<f32>;      // (weight rows) f32, read when p.bias == 1
@group(0) @binding(3) var<storage, read_write> y : array<f32>;  // (split1) f32; with SWIGLU silu(gate) * up
@group(0) @binding(4) var<storage, read_write> y1 : array<f32>; // (split2 - split1) f32
@group(0) @binding(5) var<storage, read_write> y2 : array<f32>; // (weight rows - split2) f32
@group(0) @binding(6) var<uniform> p : Params;

override WG : u32 = 256u; // threads per workgroup
override TPR : u32 = 32u; // threads per row group: a power of two dividing WG
override NR : u32 = 1u;   // rows per group, 1..4 (even with SWIGLU)
// Rows [0, split1) are ffn_gate and [split1, 2 split1) ffn_up (one part): a group computes NR/2 gate rows and the
// matching up rows and writes y[j] = silu(gate_j) * up_j, fusing the SwiGLU after the matvec.
override SWIGLU : bool = false;

var<workgroup> partial : array<vec4<f32>, WG>; // per thread: its sums for the group's NR rows

// x[k] for k < cols, else 0: the last word of x may hold anything past cols.
fn xAt(k : u32) -> f32 {
  return select(0.0, x[k / 4u][k % 4u], k < p.cols);
}

// This lane's share of the rows of group g; rows past the part's end repeat its last row (never written).
fn rowsDot(g : u32, lane : u32) -> vec4<f32> {
  let words = (p.cols + 3u) / 4u;
  let units = p.cols / 4u;
  var acc = vec4<f32>(0.0);
  for (var u = lane; u < units; u += TPR) {
    let xv = x[u];
    for (var r = 0u; r < NR; r++) {
      let row = rowOf(g, r);
      acc[r] += dot(w[row * words + u], xv);
    }
  }
  if (units < words && lane == units % TPR) {
    let k = 4u * units;
    let xv = vec4<f32>(xAt(k), xAt(k + 1u), xAt(k + 2u), 0.0);
    for (var r = 0u; r < NR; r++) {
      let row = rowOf(g, r);
      acc[r] += dot(w[row * words + units], xv);
    }
  }
  return acc;
}
