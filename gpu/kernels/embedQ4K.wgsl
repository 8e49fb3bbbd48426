// Embedding lookup, Q4_K table: out[t, :] = table[ids[t], :] dequantized to f32, for the ids that fall in
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

@group(0) @binding(0) var<storage, read> qs : array<u32>;   // (rows, cols/8) 128 bytes per super-block, ggml order
@group(0) @binding(1) var<storage, read> hdr : array<u32>;  // (rows, cols/256, 4) d|dmin, scales[12]
@group(0) @binding(2) var<storage, read> ids : array<u32>;        // (tokens) u32
@group(0) @binding(3) var<storage, read_write> out : array<f32>;  // (tokens, cols) f32
@group(0) @binding(4) var<uniform> p : Params;

override WG : u32 = 64u;

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
