// Decode matvec, Q4_K weight: y[rowOffset + r] (+)= sum_k W[r, k] * x[k]. A super-block (256 elements) is 8 words
// of qs plus one hdr word (d|dmin, scales[12] as ggml stores them); word c of a super-block holds elements
// 64p + l0 + i (low nibbles, sub-block 2p) and 64p + 32 + l0 + i (high, sub-block 2p + 1), p = c / 2,
// l0 = 16 (c % 2), i < 16; W = d * sc[j] * q - dmin * m[j], summed as d sc (sum q x) - dmin m (sum x).
// A unit of work is one 16-byte word of qs (32 elements).
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

@group(0) @binding(0) var<storage, read> qs : array<vec4<u32>>;   // (rows, cols/32) 32 nibbles per word
@group(0) @binding(1) var<storage, read> hdr : array<vec4<u32>>;  // (rows, cols/256) d|dmin, scales[12]
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

// ggml's get_scale_min_k4 for sub-blocks j = 2 pair and j + 1 at once, two bytes per u32 op, from scales[12] =
// hdr words y, z, w: (scale j, scale j + 1, min j, min j + 1). j < 4 takes the low 6 bits of scales[j] and
// scales[j + 4]; j >= 4 the nibbles of scales[j + 4] with the top 2 bits of scales[j - 4] and scales[j] above them.
fn scalesMins(m : vec4<u32>, pair : u32) -> vec4<f32> {
  let s = 16u * (pair % 2u);
  let a = m.y >> s; // scales[j % 4], scales[j % 4 + 1] in bytes 0 and 1
  let b = m.z >> s; // scales[j % 4 + 4], + 5
  let c = m.w >> s; // scales[j % 4 + 8], + 9
  let sc = select((c & 0x0f0fu) | ((a & 0xc0c0u) >> 2u), a & 0x3f3fu, pair < 2u);
  let mn = select(((c >> 4u) & 0x0f0fu) | ((b & 0xc0c0u) >> 2u), b & 0x3f3fu, pair < 2u);
  return vec4<f32>(vec4<u32>(sc, sc >> 8u, mn, mn >> 8u) & vec4<u32>(0xffu));
}

// The four bytes of w, byte 0 first, as floats (each byte holds one unsigned quant).
fn bytes4(w : u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(w) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu));
}

// This lane's share of the rows of group g; rows past the part's end repeat its last row (never written).
fn rowsDot(g : u32, lane : u32) -> vec4<f32> {
  let units = p.cols / 32u;
  let nb = p.cols / 256u;
  let nibble = vec4<u32>(0x0f0f0f0fu);
  var acc = vec4<f32>(0.0);
  for (var u = lane; u < units; u += TPR) {
    let sb = u / 8u;
    let c = u % 8u;
    let xb = 64u * sb + 16u * (c / 2u) + 4u * (c % 2u); // x word of element 256 sb + 64 p + l0
    let xl0 = x[xb];
    let xl1 = x[xb + 1u];
    let xl2 = x[xb + 2u];
    let xl3 = x[xb + 3u];
    let xh0 = x[xb + 8u];
    let xh1 = x[xb + 9u];
    let xh2 = x[xb + 10u];
    let xh3 = x[xb + 11u];
    let sumX = vec2<f32>(dot(xl0 + xl1 + xl2 + xl3, vec4<f32>(1.0)), dot(xh0 + xh1 + xh2 + xh3, vec4<f32>(1.0)));
    for (var r = 0u; r < NR; r++) {
      let row = rowOf(g, r);
      let q = qs[row * units + u];
      let m = hdr[row * nb + sb];
      // One mask per word splits its 8 nibbles into the 4 quants of sub-block 2p (lo) and of 2p + 1 (hi).
      let lo = q & nibble;
      let hi = (q >> vec4<u32>(4u)) & nibble;
      let s = vec2<f32>(dot(bytes4(lo.x), xl0) + dot(bytes4(lo.y), xl1) + dot(bytes4(lo.z), xl2) + dot(bytes4(lo.w), xl3),
                        dot(bytes4(hi.x), xh0) + dot(bytes4(hi.y), xh1) + dot(bytes4(hi.z), xh2) + dot(bytes4(hi.w), xh3));
      let sm = scalesMins(m, c / 2u);
      let dm = unpack2x16float(m.x);
      acc[r] += dm.x * dot(sm.xy, s) - dm.y * dot(sm.zw, sumX);
    }
  }
  return acc;
}
