// Embedding lookup, Q6_K table: out[t, :] = table[ids[t], :] dequantized to f32, for the ids that fall in
// this part's rows [firstRow, firstRow + rows). One workgroup per token; each thread writes 8 elements per step.
// The last part also fills the rows of ids at or past the table's end with `fill` (NaN), so a bad id shows.

struct Params {
  tokens : u32,
  cols : u32,      // embedding width
  firstRow : u32,  // the part's first table row
  rows : u32,      // rows of this part
  totalRows : u32, // rows of the whole table
  isLast : u32,    // 1 for the table's last part
  gridX : u32,     // workgroups along x (a 2-D grid when tokens exceed 65535)
  fill : u32,      // f32 bits written for an out-of-range id
}

@group(0) @binding(0) var<storage, read> ql : array<u32>;  // (rows, cols/8) low 4 bits, 128 bytes per super-block, ggml order
@group(0) @binding(1) var<storage, read> qh : array<u32>;  // (rows, cols/16) high 2 bits, 64 bytes per super-block, ggml order
@group(0) @binding(2) var<storage, read> sc : array<u32>;  // (rows, cols/256, 4) 16 int8 scales per super-block
@group(0) @binding(3) var<storage, read> d : array<f32>;   // (rows, cols/256) super-block scale
@group(0) @binding(4) var<storage, read> ids : array<u32>;        // (tokens) u32
@group(0) @binding(5) var<storage, read_write> out : array<f32>;  // (tokens, cols) f32
@group(0) @binding(6) var<uniform> p : Params;

override WG : u32 = 64u;

// Elements k0..k0+7 of row `row` (k0 % 8 == 0): in super-block sb = k0/256, element e = 128h + 32g + l
// (l < 32) takes its low 4 bits from ql byte 64h + 32 (g % 2) + l (low nibble for g < 2, high for g >= 2) and its
// top 2 bits from qh byte 32h + l at bit 2g; W = d * sc[e / 16] * (q - 32).
fn load8(row : u32, k0 : u32) -> array<vec4<f32>, 2> {
  let nb = p.cols / 256u;
  let sb = k0 / 256u;
  let e = k0 % 256u;
  let h = e / 128u;
  let g = (e % 128u) / 32u;
  let l = e % 32u;
  let blk = row * nb + sb;
  let iq = 32u * blk + (64u * h + 32u * (g % 2u) + l) / 4u;
  let ih = 16u * blk + (32u * h + l) / 4u;
  let s = 8u * h + 2u * g + l / 16u;
  let scale = d[blk] * f32(bitcast<i32>(sc[4u * blk + s / 4u] << (24u - 8u * (s % 4u))) >> 24u);
  let shift = vec4<u32>(0u, 8u, 16u, 24u);
  let nib = vec4<u32>(4u * (g / 2u));
  let hs = vec4<u32>(2u * g);
  let low0 = (vec4<u32>(ql[iq]) >> (shift + nib)) & vec4<u32>(15u);
  let low1 = (vec4<u32>(ql[iq + 1u]) >> (shift + nib)) & vec4<u32>(15u);
  let q0 = low0 | (((vec4<u32>(qh[ih]) >> (shift + hs)) & vec4<u32>(3u)) << vec4<u32>(4u));
  let q1 = low1 | (((vec4<u32>(qh[ih + 1u]) >> (shift + hs)) & vec4<u32>(3u)) << vec4<u32>(4u));
  return array<vec4<f32>, 2>(scale * (vec4<f32>(q0) - 32.0), scale * (vec4<f32>(q1) - 32.0));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) t : u32) {
  let token = wg.y * p.gridX + wg.x;
  if (token >= p.tokens) { return; }
  let id = ids[token];
  let o = token * p.cols;
  if (id >= p.firstRow && id - p.firstRow < p.rows) {
    for (var k0 = 8u * t; k0 < p.cols; k0 += 8u * WG) {
      let v = load8(id - p.firstRow, k0);
      for (var i = 0u; i < 8u; i++) {
        if (k0 + i < p.cols) { out[o + k0 + i] = v[i / 4u][i % 4u]; }
      }
    }
  } else if (p.isLast == 1u && id >= p.totalRows) {
    for (var k = t; k < p.cols; k += WG) { out[o + k] = bitcast<f32>(p.fill); }
  }
}
