// Decode matvec, Q4_0 weight: y[rowOffset + r] (+)= sum_k W[r, k] * x[k]. Block b of a row (elements 32b..32b+31)
// is one 16-byte word of qs: byte j holds element j (low nibble) and j + 16 (high); W = d[r, b] * (nibble - 8),
// summed as d * (sum nibble * x - 8 * sum x).
// A unit of work is one block (16 bytes, 32 elements).
// A group of TPR threads computes NR consecutive rows: each thread strides over the units (neighbouring threads
// read neighbouring words: coalesced), loads a unit's x once for all NR rows (x reads, not weight reads, limit
// quantized types at NR = 1), accumulates in f32; the group then reduces in workgroup memory. TPR = NR = 1 is
// one row per thread, what lavapipe runs fastest.
// rowOf, store, writeRows and main (the reduction and outputs) come from matmulVecEpilogue.wgsl, which matmul.ts
// appends to this file.

struct Params {
  rows : u32,       // rows of this weight part
  cols : u32,       // K, a multiple of 32
  rowOffset : u32,  // row of the whole weight at the part's row 0
  gridX : u32,      // workgroups along x (a 2-D grid when rows need more than 65535 workgroups)
  accumulate : u32, // 1: y += W·x (fuses a residual add), 0: y = W·x
  split1 : u32,     // weight rows [0, split1) go to y, [split1, split2) to y1, the rest to y2 (fused q/k/v)
  split2 : u32,
  bias : u32,       // 1: bias[row] is added (fused q/k/v bias)
}

@group(0) @binding(0) var<storage, read> qs : array<vec4<u32>>;  // (rows, cols/32) one block per word
@group(0) @binding(1) var<storage, read> d : array<u32>;         // (rows, ceil(cols/64)) two f16 scales per word
@group(0) @binding(2) var<storage, read> x : array<vec4<f32>>; // (cols/4) f32
@group(0) @binding(3) var<storage, read> bias : array<f32>;      // (weight rows) f32, read when p.bias == 1
@group(0) @binding(4) var<storage, read_write> y : array<f32>;  // (split1) f32; with SWIGLU silu(gate) * up
@group(0) @binding(5) var<storage, read_write> y1 : array<f32>; // (split2 - split1) f32
@group(0) @binding(6) var<storage, read_write> y2 : array<f32>; // (weight rows - split2) f32
@group(0) @binding(7) var<uniform> p : Params;

override WG : u32 = 256u; // threads per workgroup
override TPR : u32 = 32u; // threads per row group: a power of two dividing WG
override NR : u32 = 1u;   // rows per group, 1..4 (even with SWIGLU)
// Rows [0, split1) are ffn_gate and [split1, 2 split1) ffn_up (one part): a group computes NR/2 gate rows and the
// matching up rows and writes y[j] = silu(gate_j) * up_j, fusing the SwiGLU after the matvec.
override SWIGLU : bool = false;

var<workgroup> partial : array<vec4<f32>, WG>; // per thread: its sums for the group's NR rows

// Dot of the low (high) nibbles of the four bytes of v with xl (xh).
fn nibbleDot(v : u32, xl : vec4<f32>, xh : vec4<f32>) -> f32 {
  let b = vec4<u32>(v) >> vec4<u32>(0u, 8u, 16u, 24u);
  return dot(vec4<f32>(b & vec4<u32>(15u)), xl) + dot(vec4<f32>((b >> vec4<u32>(4u)) & vec4<u32>(15u)), xh);
}

// f16 number `half` (0 or 1) of a word. (Selects, not v[i]: a vector indexed at run time can spill to memory.)
fn f16At(w : u32, half : u32) -> f32 {
  let v = unpack2x16float(w);
  return select(v.x, v.y, half == 1u);
}

// This lane's share of the rows of group g; rows past the part's end repeat its last row (never written).
fn rowsDot(g : u32, lane : u32) -> vec4<f32> {
  let units = p.cols / 32u;
  let dWords = (p.cols + 63u) / 64u;
  var acc = vec4<f32>(0.0);
  for (var u = lane; u < units; u += TPR) {
    let xl0 = x[8u * u];
    let xl1 = x[8u * u + 1u];
    let xl2 = x[8u * u + 2u];
    let xl3 = x[8u * u + 3u];
    let xh0 = x[8u * u + 4u];
    let xh1 = x[8u * u + 5u];
    let xh2 = x[8u * u + 6u];
    let xh3 = x[8u * u + 7u];
    let sumX = dot(xl0 + xl1 + xl2 + xl3 + xh0 + xh1 + xh2 + xh3, vec4<f32>(1.0));
    for (var r = 0u; r < NR; r++) {
      let row = rowOf(g, r);
      let q = qs[row * units + u];
      let s = nibbleDot(q.x, xl0, xh0) + nibbleDot(q.y, xl1, xh1) + nibbleDot(q.z, xl2, xh2) + nibbleDot(q.w, xl3, xh3);
      acc[r] += f16At(d[row * dWords + u / 2u], u % 2u) * (s - 8.0 * sumX);
    }
  }
  return acc;
}
